// The simdjson On-Demand peer of `go run ./cmd/bench`: the Python peer's work in C++. Benchmark
// only (never built by go build or CI): cmd/bench compiles it when libsimdjson-dev is installed.
//
// usage: peer_simdjson CORPUS CIDR[,CIDR...] PATTERN[,PATTERN...]
// prints: records=N sends=N outside=N unapproved=N
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

using namespace simdjson;

struct cidr {
  uint32_t net, mask;
};

static bool parse_ipv4(std::string_view s, uint32_t &out) {
  uint32_t v = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    uint32_t octet = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) octet = octet * 10 + (s[i++] - '0');
    if (octet > 255) return false;
    v = v << 8 | octet;
    if (++parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      i++;
    }
  }
  if (i != s.size()) return false;
  out = v;
  return true;
}

// like matches IAM StringLike: '*' any run, '?' one character.
static bool like(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      pi++, si++;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1, si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

static std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++) {
    if (i == s.size() || s[i] == ',') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

static std::string_view first(ondemand::object tags, std::string_view key) {
  ondemand::array arr;
  if (tags.find_field_unordered(key).get_array().get(arr)) return {};
  for (auto v : arr) {
    std::string_view s;
    if (v.get_string().get(s)) return {};
    return s;
  }
  return {};
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: peer_simdjson CORPUS CIDRS PATTERNS\n");
    return 1;
  }
  std::vector<cidr> nets;
  for (auto &c : split(argv[2])) {
    auto slash = c.find('/');
    uint32_t a;
    if (slash == std::string::npos || !parse_ipv4(std::string_view(c).substr(0, slash), a)) return 1;
    int bits = std::stoi(c.substr(slash + 1));
    uint32_t mask = bits == 0 ? 0 : ~uint32_t(0) << (32 - bits);
    nets.push_back({a & mask, mask});
  }
  std::vector<std::string> pats = split(argv[3]);

  padded_string json;
  if (padded_string::load(argv[1]).get(json)) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  ondemand::parser parser;
  ondemand::document_stream docs;
  if (parser.iterate_many(json, 1 << 20).get(docs)) return 1;
  long records = 0, sends = 0, outside = 0, unapproved = 0;
  for (auto doc : docs) {
    records++;
    std::string_view type;
    if (doc["eventType"].get_string().get(type)) {
      fprintf(stderr, "record %ld: no eventType\n", records);
      return 1;
    }
    ondemand::object tags;
    if (doc["mail"]["tags"].get_object().get(tags)) {
      fprintf(stderr, "record %ld: no mail.tags\n", records);
      return 1;
    }
    // Copy: the next lookup moves the On-Demand cursor.
    std::string caller(first(tags, "ses:caller-identity"));
    std::string_view ip = first(tags, "ses:source-ip");
    uint32_t a;
    bool network_ok = false;
    if (parse_ipv4(ip, a)) {
      for (auto &n : nets) network_ok |= (a & n.mask) == n.net;
    }
    bool caller_ok = false;
    if (!caller.empty()) {
      for (auto &p : pats) caller_ok |= like(p, caller);
    }
    if (type != "Send") continue;
    sends++;
    outside += !network_ok;
    unapproved += !caller_ok;
  }
  printf("records=%ld sends=%ld outside=%ld unapproved=%ld\n", records, sends, outside, unapproved);
  return 0;
}
