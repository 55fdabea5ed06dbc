package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// A month of a realistic account, for policy suggest / preflight / S3 tests:
//   - orders-api (IAM role) sends transactional mail around the clock from a NAT fleet whose
//     three Elastic IPs are replaced every four days, out of three /24s;
//   - a newsletter (SMTP user) sends a weekly campaign from two fixed addresses to a long tail of
//     recipient domains, with per-campaign From local parts and some bounces;
//   - billing-worker (IAM role) sends on weekdays 08-17 UTC from private VPC addresses;
//   - and, when attack is set, orders-api's key is used for 50 minutes at 03:00 on day 20 from a
//     network never seen before (45.155.205.0/24).
const (
	histAccount   = "111122223333"
	histAttackNet = "45.155.205.0/24"
	histDays      = 30
)

var histStart = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

type histSend struct {
	at       time.Time
	caller   string
	ip       string
	from     string
	identity string
	cs       string
	rcpt     string
	bounce   bool
}

type historyStats struct {
	sends, attackSends int
	files              int
	bytes              int64
}

func histSends(attack bool) []histSend {
	rnd := rand.New(rand.NewPCG(25, 2026))
	var out []histSend
	natBlocks := []string{"52.16.10", "52.16.11", "34.240.77"}
	commonDomains := []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "web.de", "orange.fr", "example.org", "proton.me"}
	for d := 0; d < histDays; d++ {
		day := histStart.AddDate(0, 0, d)
		// orders-api: 8..30 sends an hour, diurnal.
		for h := 0; h < 24; h++ {
			n := 8 + 22*max(0, 12-abs(h-14))/12
			for i := 0; i < n; i++ {
				at := day.Add(time.Duration(h)*time.Hour + time.Duration(rnd.IntN(3600))*time.Second)
				gen := d / 4 // the fleet's generation of Elastic IPs
				k := rnd.IntN(3)
				idx := gen*3 + k
				ip := fmt.Sprintf("%s.%d", natBlocks[idx%3], 10+idx)
				out = append(out, histSend{at: at, caller: "orders-api", ip: ip, from: "orders@shop.example.com",
					identity: "shop.example.com", cs: "transactional", rcpt: fmt.Sprintf("c%d@%s", rnd.IntN(5000), commonDomains[rnd.IntN(len(commonDomains))]),
					bounce: rnd.IntN(100) == 0})
			}
		}
		// newsletter: Tuesdays 10:00-11:59, 1500 recipients over a long tail of domains.
		if day.Weekday() == time.Tuesday {
			for i := 0; i < 1500; i++ {
				at := day.Add(10*time.Hour + time.Duration(rnd.IntN(7200))*time.Second)
				dom := commonDomains[rnd.IntN(len(commonDomains))]
				if rnd.IntN(2) == 0 {
					dom = fmt.Sprintf("d%d.example-%d.net", rnd.IntN(3000), rnd.IntN(7))
				}
				out = append(out, histSend{at: at, caller: "ses-smtp-user.20260101-newsletter", ip: fmt.Sprintf("198.51.100.%d", 10+rnd.IntN(2)),
					from: fmt.Sprintf("news+%s-%d@news.example.com", day.Format("0102"), i%5), identity: "news.example.com", cs: "marketing",
					rcpt: fmt.Sprintf("s%d@%s", rnd.IntN(100000), dom), bounce: rnd.IntN(50) == 0})
			}
		}
		// billing-worker: weekdays 08-17, from the VPC.
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			for i := 0; i < 60; i++ {
				at := day.Add(8*time.Hour + time.Duration(rnd.IntN(10*3600))*time.Second)
				out = append(out, histSend{at: at, caller: "billing-worker", ip: fmt.Sprintf("10.40.1.%d", 5+rnd.IntN(4)),
					from: "billing@shop.example.com", identity: "shop.example.com", cs: "transactional",
					rcpt: fmt.Sprintf("acct%d@%s", rnd.IntN(800), commonDomains[rnd.IntN(len(commonDomains))])})
			}
		}
	}
	if attack {
		at0 := histStart.AddDate(0, 0, 19).Add(3 * time.Hour)
		for i := 0; i < 400; i++ {
			out = append(out, histSend{at: at0.Add(time.Duration(i) * 7 * time.Second), caller: "orders-api",
				ip: fmt.Sprintf("45.155.205.%d", 20+i%3), from: "orders@shop.example.com", identity: "shop.example.com",
				cs: "transactional", rcpt: fmt.Sprintf("victim%d@mail%d.example.com", i, i%40)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// writeHistory writes the history in the Firehose layout (dir/YYYY/MM/DD/HH/<name>.gz, NDJSON
// records: each send with a Delivery, and a Bounce or Complaint when drawn) and returns counts.
func writeHistory(t testing.TB, dir string, attack bool) historyStats {
	t.Helper()
	var st historyStats
	sends := histSends(attack)
	var (
		cur  string
		f    *os.File
		gz   *gzip.Writer
		bw   *bufio.Writer
		seq  int
		fail = func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
	)
	closeFile := func() {
		if f == nil {
			return
		}
		fail(bw.Flush())
		fail(gz.Close())
		info, err := f.Stat()
		fail(err)
		st.bytes += info.Size()
		fail(f.Close())
		f = nil
	}
	for i, s := range sends {
		hour := s.at.Format("2006/01/02/15")
		if hour != cur {
			closeFile()
			cur = hour
			p := filepath.Join(dir, filepath.FromSlash(hour))
			fail(os.MkdirAll(p, 0o755))
			var err error
			f, err = os.Create(filepath.Join(p, fmt.Sprintf("sesguard-events-1-%s-%04d.gz", s.at.Format("2006-01-02-15"), seq)))
			fail(err)
			seq++
			st.files++
			gz = gzip.NewWriter(f)
			bw = bufio.NewWriter(gz)
		}
		st.sends++
		if s.ip[:3] == "45." {
			st.attackSends++
		}
		id := fmt.Sprintf("0102019%09x-%08x-gen", i, s.at.Unix())
		mail := fmt.Sprintf(`"mail":{"timestamp":"%s","source":"%s","sourceArn":"arn:aws:ses:eu-west-1:%s:identity/%s","sendingAccountId":"%s","messageId":"%s","destination":["%s"],"commonHeaders":{"from":["Shop <%s>"],"to":["%s"],"subject":"Hello"},"tags":{"ses:operation":["SendRawEmail"],"ses:configuration-set":["%s"],"ses:source-ip":["%s"],"ses:from-domain":["%s"],"ses:caller-identity":["%s"]}}`,
			s.at.Format("2006-01-02T15:04:05.000Z"), s.from, histAccount, s.identity, histAccount, id, s.rcpt, s.from, s.rcpt, s.cs, s.ip, s.identity, s.caller)
		later := s.at.Add(2 * time.Second).Format("2006-01-02T15:04:05.000Z")
		fmt.Fprintf(bw, `{"eventType":"Send",%s,"send":{}}`+"\n", mail)
		switch {
		case s.bounce:
			fmt.Fprintf(bw, `{"eventType":"Bounce",%s,"bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"%s"}],"timestamp":"%s","feedbackId":"f-%d"}}`+"\n", mail, s.rcpt, later, i)
		default:
			fmt.Fprintf(bw, `{"eventType":"Delivery",%s,"delivery":{"timestamp":"%s","processingTimeMillis":900,"recipients":["%s"],"smtpResponse":"250 ok"}}`+"\n", mail, later, s.rcpt)
		}
	}
	closeFile()
	return st
}

// writeCloudTrail writes the month's CloudTrail SES records as NDJSON: orders-api's daily
// GetSendQuota from its NAT fleet (monitoring), and with attack the leaked key's reconnaissance
// (GetSendQuota, ListIdentities) from the attack network minutes before its sends, plus a second
// stolen identity that only probes. It returns the number of attack calls.
func writeCloudTrail(t testing.TB, path string, attack bool) int {
	t.Helper()
	var b strings.Builder
	role := func(name string) string {
		return fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROAEXAMPLE:s","arn":"arn:aws:sts::%[1]s:assumed-role/%[2]s/s","accountId":"%[1]s","accessKeyId":"ASIAEXAMPLE%[3]s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::%[1]s:role/%[2]s","accountId":"%[1]s","userName":"%[2]s"}}}`,
			histAccount, name, strings.ToUpper(name[:3]))
	}
	user := func(name string) string {
		return fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%[1]s:user/%[2]s","accountId":"%[1]s","accessKeyId":"AKIAEXAMPLE0001","userName":"%[2]s"}`, histAccount, name)
	}
	n := 0
	call := func(at time.Time, who, name, ip string) {
		n++
		fmt.Fprintf(&b, `{"eventVersion":"1.10","userIdentity":%s,"eventTime":"%s","eventSource":"ses.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"aws-sdk-go-v2","requestParameters":null,"responseElements":null,"eventID":"ev-%06d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`+"\n",
			who, at.Format(time.RFC3339), name, ip, n, histAccount)
	}
	for d := 0; d < histDays; d++ {
		gen := d / 4
		call(histStart.AddDate(0, 0, d).Add(6*time.Hour), role("orders-api"), "GetSendQuota", fmt.Sprintf("52.16.10.%d", 10+gen*3))
	}
	attackCalls := 0
	if attack {
		at := histStart.AddDate(0, 0, 19).Add(2*time.Hour + 55*time.Minute)
		for i, name := range []string{"GetSendQuota", "ListIdentities", "GetAccount"} {
			call(at.Add(time.Duration(i)*time.Minute), role("orders-api"), name, "45.155.205.21")
			call(at.Add(time.Duration(i)*time.Minute+30*time.Second), user("backup-user"), name, "45.155.205.30")
			attackCalls += 2
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return attackCalls
}
