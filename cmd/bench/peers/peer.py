#!/usr/bin/env python3
"""The Python peer of `go run ./cmd/bench`: what a Lambda-style Python consumer of SES records
does. Per line: json.loads, read the ses:caller-identity and ses:source-ip tags, check the IP
against the approved CIDR blocks and the caller against the approved StringLike patterns, count.

usage: peer.py CORPUS CIDR[,CIDR...] PATTERN[,PATTERN...]
prints: records=N sends=N outside=N unapproved=N
"""
import fnmatch
import ipaddress
import json
import re
import sys


def main():
    path, cidrs, patterns = sys.argv[1], sys.argv[2], sys.argv[3]
    nets = [ipaddress.ip_network(c) for c in cidrs.split(",")]
    pats = [re.compile(fnmatch.translate(p)) for p in patterns.split(",")]
    records = sends = outside = unapproved = 0
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            records += 1
            tags = (rec.get("mail") or {}).get("tags") or {}
            caller = (tags.get("ses:caller-identity") or [""])[0]
            ip = (tags.get("ses:source-ip") or [""])[0]
            try:
                addr = ipaddress.ip_address(ip)
                network_ok = any(addr in n for n in nets)
            except ValueError:
                network_ok = False
            caller_ok = caller != "" and any(p.match(caller) for p in pats)
            if rec.get("eventType") != "Send":
                continue
            sends += 1
            if not network_ok:
                outside += 1
            if not caller_ok:
                unapproved += 1
    print(f"records={records} sends={sends} outside={outside} unapproved={unapproved}")


if __name__ == "__main__":
    main()
