// Package sescorpus generates a realistic, deterministic benchmark corpus of SES event-publishing
// records as NDJSON (what Firehose writes to S3): every message has a Send and a Delivery, some a
// Bounce or a Complaint; every record carries mail.headers, commonHeaders and the usual SES
// auto-tags, and records range from about 1 KB to 10 KB. The same Options always give the same
// bytes, so benchmark figures from different runs and machines read the same input.
package sescorpus

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Policy is the sesguard policy the corpus is shaped for: the principals, networks, From
// addresses, identities and configuration sets of its approved senders. About one message in
// ViolationEvery breaks it (a public source IP, an unapproved principal or both).
const Policy = `version: 1
network:
  cidrs: [10.20.0.0/16, 10.30.0.0/16]
senders:
  principals: ["ses-smtp-user.2026*", "mailer-task-role", "svc-*"]
  from: ["*@mail.example.com", "*@news.example.com"]
  identities: ["mail.example.com", "news.example.com"]
  configuration_sets: ["prod-outbound", "marketing"]
recipients:
  domains: ["*"]
limits:
  per_principal: { window: 5m, max_sends: 2000 }
  bounce_rate: { window: 1h, max: 0.05, min_sends: 200 }
  complaint_rate: { window: 1h, max: 0.001, min_sends: 200 }
response:
  mode: dry-run
  max_actions_per_hour: 20
`

// FloodPolicy is Policy turned around: every send breaks six per-send rules (network,
// principal, From, identity, configuration set, recipient domain), one finding group per rule
// and principal, and the network finding is actionable so respond runs (dry-run).
const FloodPolicy = `version: 1
network:
  cidrs: [192.0.2.0/24]
senders:
  principals: ["nobody-approved"]
  from: ["*@approved.example"]
  identities: ["approved.example"]
  configuration_sets: ["approved-set"]
recipients:
  domains: ["approved.example"]
limits:
  per_principal: { window: 5m, max_sends: 1000000 }
  bounce_rate: { window: 1h, max: 0.05, min_sends: 200 }
  complaint_rate: { window: 1h, max: 0.001, min_sends: 200 }
response:
  mode: dry-run
  max_actions_per_hour: 20
  on:
    network.outside_approved: [deactivate_keys]
`

// ApprovedCIDRs and ApprovedPrincipals repeat Policy's network and principal lists for peers
// that do not read YAML (the benchmark's Python and C++ programs).
var (
	ApprovedCIDRs      = []string{"10.20.0.0/16", "10.30.0.0/16"}
	ApprovedPrincipals = []string{"ses-smtp-user.2026*", "mailer-task-role", "svc-*"}
)

// ViolationEvery is how often (in messages) a send breaks Policy.
const ViolationEvery = 100

// Options says what to generate.
type Options struct {
	Seed    uint64
	Records int       // records to write (the last message may be cut short)
	Start   time.Time // mail.timestamp of the first message; default 2026-05-04T00:00:00Z
	// Interval between messages; default 200 ms (18,000 messages an hour).
	Interval time.Duration
	// Shape varies the corpus beyond its seed (shape.go); the zero Shape is the realistic corpus
	// the figures in README were measured on.
	Shape Shape
}

// Stats describes what Write wrote.
type Stats struct {
	Records  int64
	Messages int64
	Bytes    int64
	ByType   map[string]int64
	MinSize  int // smallest record, bytes (without the newline)
	MaxSize  int
}

// Write writes opt.Records records to w.
func Write(w io.Writer, opt Options) (Stats, error) {
	if opt.Start.IsZero() {
		opt.Start = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	}
	if opt.Interval <= 0 {
		opt.Interval = 200 * time.Millisecond
	}
	g := &gen{rnd: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5e5c0a1f)), opt: opt}
	bw := bufio.NewWriterSize(w, 1<<20)
	st := Stats{ByType: map[string]int64{}, MinSize: -1}
	for i := 0; st.Records < int64(opt.Records); i++ {
		st.Messages++
		for _, rec := range g.message(i) {
			if st.Records == int64(opt.Records) {
				break
			}
			n := len(rec.data)
			if st.MinSize < 0 || n < st.MinSize {
				st.MinSize = n
			}
			st.MaxSize = max(st.MaxSize, n)
			st.ByType[rec.typ]++
			st.Records++
			st.Bytes += int64(n) + 1
			if _, err := bw.Write(rec.data); err != nil {
				return st, err
			}
			if err := bw.WriteByte('\n'); err != nil {
				return st, err
			}
		}
	}
	st.MinSize = max(st.MinSize, 0)
	return st, bw.Flush()
}

type record struct {
	typ  string
	data []byte
}

type gen struct {
	rnd *rand.Rand
	opt Options
	// The current message's mail object, as members: mail holds every member but tags (each
	// `"name":value`), tags the tag members (`"ses:operation":["…"]`).
	mail   [][]byte
	tags   [][]byte
	order  []int // the order mail members are written in (index len(mail) is tags)
	torder []int
	out    [4]record
	bufs   [4][]byte
	pool   [][]byte // member buffers, reused across messages
	used   int
}

// sender is one approved sending application.
type sender struct {
	principal, op, from, identity, configSet, subnet string
}

var senders = []sender{
	{"ses-smtp-user.20260112-101500", "SendRawEmail", "Example Billing <billing@mail.example.com>", "mail.example.com", "prod-outbound", "10.20.3."},
	{"ses-smtp-user.20260301-090000", "SendRawEmail", "noreply@mail.example.com", "mail.example.com", "prod-outbound", "10.20.7."},
	{"mailer-task-role", "SendEmail", "Example Store <orders@mail.example.com>", "mail.example.com", "prod-outbound", "10.30.12."},
	{"svc-notifications", "SendEmail", "Example Alerts <alerts@mail.example.com>", "mail.example.com", "prod-outbound", "10.30.40."},
	{"svc-newsletter", "SendBulkTemplatedEmail", "Example News <news@news.example.com>", "news.example.com", "marketing", "10.30.41."},
	{"svc-accounts", "SendTemplatedEmail", "Example Accounts <accounts@mail.example.com>", "mail.example.com", "prod-outbound", "10.20.9."},
}

var subjects = []string{
	"Your invoice %d is ready",
	"Your order %d has shipped",
	"Password reset requested for account %d",
	"Weekly summary #%d",
	"Ihre Bestellung %d für März ist unterwegs",
	"ご注文 %d の発送のお知らせ",
	"Don't miss out: \"spring sale\" ends soon (%d)",
}

var domains = []string{"example.net", "example.org", "example.com", "mail.example.net", "customers.example.org"}

// violates reports whether message i breaks Policy.
func (g *gen) violates(i int) bool {
	p := g.opt.Shape.ViolatePercent
	if p == 0 {
		return i%ViolationEvery == ViolationEvery/2
	}
	// Spread the violating messages through every hundred rather than in one run.
	return (i*37+11)%100 < p
}

// message returns the records of message i: Send, Delivery and, for some, a Bounce and/or a
// Complaint.
func (g *gen) message(i int) []record {
	r := g.rnd
	s := senders[r.IntN(len(senders))]
	ip := s.subnet + strconv.Itoa(2+r.IntN(250))
	principal := s.principal
	if g.violates(i) {
		switch r.IntN(3) {
		case 0:
			ip = "203.0.113." + strconv.Itoa(1+r.IntN(254))
		case 1:
			principal = "ci-deploy-role"
		default:
			ip, principal = "198.51.100."+strconv.Itoa(1+r.IntN(254)), "intruder-"+strconv.Itoa(r.IntN(5))
		}
	}
	at := g.opt.Start.Add(time.Duration(i) * g.opt.Interval).UTC()
	at = at.Add(time.Duration(r.IntN(int(g.opt.Interval/time.Millisecond))) * time.Millisecond)
	id := fmt.Sprintf("0102018f%08x-%08x-%04x-4%03x-%04x-%012x-000000", i, r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), 0x8000|r.IntN(1<<14), r.Uint64()&(1<<48-1))

	rcpts, extra := g.opt.Shape.Sizes.draw(r)
	to := make([]string, rcpts)
	for j := range to {
		to[j] = "user" + strconv.Itoa(r.IntN(200000)) + "@" + domains[r.IntN(len(domains))]
	}
	subject := fmt.Sprintf(subjects[r.IntN(len(subjects))], 1000+r.IntN(900000))
	g.mailObject(&s, principal, ip, id, subject, to, at, extra)

	later := at.Add(time.Duration(800+r.IntN(4000)) * time.Millisecond)
	n := 0
	g.out[n] = g.record(n, "Send", "", nil)
	n++
	outgoing := "198.51.100." + strconv.Itoa(10+r.IntN(40))
	delivery := fmt.Appendf(nil, `"delivery":{"timestamp":"%s","processingTimeMillis":%d,"recipients":%s,"smtpResponse":"250 2.0.0 OK  %d %s - gsmtp","reportingMTA":"b224-%d.smtp-out.eu-west-1.amazonses.com","remoteMtaIp":"192.0.2.%d"}`,
		stamp(later), later.Sub(at).Milliseconds(), jsonStrings(nil, to), later.Unix(), randWord(r, 12), r.IntN(40), 1+r.IntN(250))
	g.out[n] = g.record(n, "Delivery", outgoing, delivery)
	n++
	if i%25 == 3 {
		bounce := fmt.Appendf(nil, `"bounce":{"feedbackId":"0102018f%08x-%08x-000000","bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":%s,"action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 The email account that you tried to reach does not exist."}],"timestamp":"%s","reportingMTA":"dns; b224-13.smtp-out.eu-west-1.amazonses.com"}`,
			i, r.Uint32(), jsonString(nil, to[0]), stamp(later))
		g.out[n] = g.record(n, "Bounce", "", bounce)
		n++
	}
	if i%2000 == 7 {
		complaint := fmt.Appendf(nil, `"complaint":{"feedbackId":"0102018f%08x-c%07x-000000","complaintSubType":null,"complainedRecipients":[{"emailAddress":%s}],"timestamp":"%s","userAgent":"Mozilla/5.0","complaintFeedbackType":"abuse","arrivalDate":"%s"}`,
			i, r.IntN(1<<24), jsonString(nil, to[0]), stamp(later.Add(time.Hour)), stamp(later.Add(time.Hour)))
		g.out[n] = g.record(n, "Complaint", "", complaint)
		n++
	}
	return g.out[:n]
}

// record assembles one record around the current mail object; outgoing adds the tags SES adds
// once a message has left (Delivery).
func (g *gen) record(slot int, typ, outgoing string, body []byte) record {
	last := g.opt.Shape.Order == OrderShuffled && g.rnd.IntN(2) == 0
	b := g.bufs[slot][:0]
	b = append(b, '{')
	if !last {
		b = append(b, `"eventType":"`...)
		b = append(b, typ...)
		b = append(b, `",`...)
	}
	b = append(b, `"mail":{`...)
	for k, m := range g.order {
		if k > 0 {
			b = append(b, ',')
		}
		if m < len(g.mail) {
			b = append(b, g.mail[m]...)
			continue
		}
		b = append(b, `"tags":{`...)
		for k, t := range g.torder {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, g.tags[t]...)
		}
		if outgoing != "" {
			b = append(b, `,"ses:outgoing-ip":["`...)
			b = append(b, outgoing...)
			b = append(b, `"],"ses:outgoing-tls-version":["TLSv1.3"]`...)
		}
		b = append(b, '}')
	}
	b = append(b, `},`...)
	if body == nil {
		b = append(b, `"send":{}`...)
	} else {
		b = append(b, body...)
	}
	if last {
		b = append(b, `,"eventType":"`...)
		b = append(b, typ...)
		b = append(b, '"')
	}
	b = append(b, '}')
	g.bufs[slot] = b
	return record{typ: typ, data: b}
}

// member starts a new mail or tag member: `"name":` in a reused buffer.
func (g *gen) member(name string) []byte {
	if g.used == len(g.pool) {
		g.pool = append(g.pool, nil)
	}
	b := jsonString(g.pool[g.used][:0], name)
	g.used++
	return append(b, ':')
}

func (g *gen) addMail(b []byte) { g.pool[g.used-1] = b; g.mail = append(g.mail, b) }
func (g *gen) addTag(b []byte)  { g.pool[g.used-1] = b; g.tags = append(g.tags, b) }

func (g *gen) tag(name, value string) {
	b := g.member(name)
	b = append(b, '[')
	b = jsonString(b, value)
	g.addTag(append(b, ']'))
}

func (g *gen) mailObject(s *sender, principal, ip, id, subject string, to []string, at time.Time, extra int) {
	r := g.rnd
	g.mail, g.tags, g.used = g.mail[:0], g.tags[:0], 0
	fromAddr := s.from
	if lt := strings.IndexByte(fromAddr, '<'); lt >= 0 {
		fromAddr = fromAddr[lt+1 : len(fromAddr)-1]
	}
	toHeader := strings.Join(to, ", ")
	msgID := "<" + randWord(r, 16) + "." + strconv.Itoa(r.IntN(1e6)) + "@" + s.identity + ">"
	date := at.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	g.addMail(append(g.member("timestamp"), `"`+stamp(at)+`"`...))
	g.addMail(jsonString(g.member("source"), fromAddr))
	g.addMail(append(g.member("sourceArn"), `"arn:aws:ses:eu-west-1:111122223333:identity/`+s.identity+`"`...))
	g.addMail(append(g.member("sendingAccountId"), `"111122223333"`...))
	g.addMail(append(g.member("messageId"), `"`+id+`"`...))
	g.addMail(jsonStrings(g.member("destination"), to))
	truncated := extra == 3
	g.addMail(strconv.AppendBool(g.member("headersTruncated"), truncated))

	b := append(g.member("headers"), '[')
	hdr := func(name, value string) {
		if b[len(b)-1] != '[' {
			b = append(b, ',')
		}
		if g.opt.Shape.Order == OrderShuffled && len(value)%2 == 0 {
			// Header objects as another serializer writes them: value first.
			b = append(b, `{"value":`...)
			b = jsonString(b, value)
			b = append(b, `,"name":`...)
			b = jsonString(b, name)
			b = append(b, '}')
			return
		}
		b = append(b, `{"name":`...)
		b = jsonString(b, name)
		b = append(b, `,"value":`...)
		b = jsonString(b, value)
		b = append(b, '}')
	}
	mix := g.opt.Shape.Headers
	if extra > 0 && mix != HeadersLean || mix == HeadersMarketing {
		hdr("X-SES-CONFIGURATION-SET", s.configSet)
	}
	hdr("From", s.from)
	hdr("To", toHeader)
	hdr("Subject", subject)
	hdr("MIME-Version", "1.0")
	boundary := "----=_Part_" + strconv.Itoa(r.IntN(1e7)) + "_" + strconv.Itoa(r.IntN(1e9)) + "." + strconv.FormatInt(at.UnixMilli(), 10)
	if mix == HeadersLean {
		hdr("Content-Type", "text/plain; charset=UTF-8")
	} else {
		hdr("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	}
	hdr("Message-ID", msgID)
	hdr("Date", date)
	if extra > 0 || mix == HeadersMarketing {
		if mix != HeadersLean {
			hdr("List-Unsubscribe", "<https://"+s.identity+"/unsubscribe?u="+randWord(r, 40)+">, <mailto:unsubscribe@"+s.identity+"?subject=unsubscribe>")
			hdr("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		}
		hdr("DKIM-Signature", "v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=ses2026; d="+s.identity+"; t="+strconv.FormatInt(at.Unix(), 10)+
			"; h=From:To:Subject:MIME-Version:Content-Type:Message-ID:Date:List-Unsubscribe; bh="+randWord(r, 44)+"; b="+randWord(r, 344))
	}
	if mix == HeadersMarketing {
		hdr("Feedback-ID", "1."+s.identity+":"+s.configSet+":"+randWord(r, 10))
		hdr("Reply-To", "Example Support <support@"+s.identity+">")
		hdr("X-Mailer", "example-mailer/4.2")
	}
	if extra >= 2 {
		hdr("X-Campaign", "spring-"+randWord(r, 8))
		for k := range 2 + r.IntN(3) {
			hdr("Received", "from app-"+strconv.Itoa(k)+".internal.example.com (ip-10-20-"+strconv.Itoa(r.IntN(255))+"-"+strconv.Itoa(r.IntN(255))+".eu-west-1.compute.internal [10.20.0.1]) by smtp.internal.example.com with ESMTPSA id "+randWord(r, 20)+"; "+date)
		}
	}
	if truncated {
		hdr("X-Trace", randWord(r, 900))
	}
	g.addMail(append(b, ']'))

	b = append(g.member("commonHeaders"), `{"from":[`...)
	b = jsonString(b, s.from)
	b = append(b, `],"date":`...)
	b = jsonString(b, date)
	b = append(b, `,"to":`...)
	b = jsonStrings(b, to)
	b = append(b, `,"messageId":`...)
	b = jsonString(b, msgID)
	b = append(b, `,"subject":`...)
	b = jsonString(b, subject)
	g.addMail(append(b, '}'))

	g.tag("ses:operation", s.op)
	g.tag("ses:configuration-set", s.configSet)
	g.tag("ses:source-ip", ip)
	g.tag("ses:publishing-source-ip", ip)
	g.tag("ses:from-domain", s.identity)
	g.tag("ses:caller-identity", principal)
	g.tag("ses:source-tls-version", "TLSv1.3")
	for k := range g.opt.Shape.CustomTags {
		g.tag(customTags[k%len(customTags)]+suffix(k/len(customTags)), customValue(r, k))
	}
	g.order = identity(g.order, len(g.mail)+1)
	g.torder = identity(g.torder, len(g.tags))
	if g.opt.Shape.Order == OrderShuffled {
		r.Shuffle(len(g.order), func(a, b int) { g.order[a], g.order[b] = g.order[b], g.order[a] })
		r.Shuffle(len(g.torder), func(a, b int) { g.torder[a], g.torder[b] = g.torder[b], g.torder[a] })
	}
}

func identity(s []int, n int) []int {
	s = s[:0]
	for i := range n {
		s = append(s, i)
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randWord(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func jsonStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonString(b, s)
	}
	return append(b, ']')
}

// jsonString appends s as a JSON string the way SES (Jackson) writes it: quotes, backslashes and
// control characters escaped, non-ASCII text as UTF-8.
func jsonString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		case c >= utf8.RuneSelf:
			_, n := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+n]...)
			i += n
			continue
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
