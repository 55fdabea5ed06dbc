package sesevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fastHints are the envelopes the differential checks run with: none, and one whose every field
// the record may or may not override.
var fastHints = [...]Envelope{
	{},
	{Account: "999988887777", Region: "ap-south-1", Time: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)},
}

// checkFastMatchesSlow fails t when the fast path accepts data but the encoding/json path does
// not decode it to the identical Event; it reports whether the fast path accepted.
func checkFastMatchesSlow(t *testing.T, data []byte) bool {
	t.Helper()
	trimmed := bytes.TrimSpace(data)
	accepted := false
	for _, hint := range fastHints {
		fast, ok := fastDecodeRecord(trimmed, hint)
		if !ok {
			if accepted {
				t.Fatalf("fast path accepted with one hint and declined with another: %q", data)
			}
			continue
		}
		accepted = true
		slow, field, err := decodeRecordSlow(data, hint)
		if err != nil {
			t.Fatalf("fast path accepted %q, slow path failed: field %q: %v", data, field, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast and slow record paths differ for %q:\nfast %#v\nslow %#v", data, fast, slow)
		}
		res := decodeMessageSlow(trimmed, "", "r", hint)
		if res.Err != nil || res.Skip != "" || len(res.Events) != 1 {
			t.Fatalf("fast path accepted %q, slow message path gave %+v", data, res)
		}
		if !reflect.DeepEqual(fast, res.Events[0]) {
			t.Fatalf("fast and slow message paths differ for %q:\nfast %#v\nslow %#v", data, fast, res.Events[0])
		}
	}
	return accepted
}

// goodRecords returns the bare SES record of every decoded good fixture, by fixture and Ref.
func goodRecords(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, rel := range fixtureFiles(t, false) {
		for _, res := range decodeFixture(t, rel) {
			if res.Raw != nil && res.APICall == nil { // SES records: CloudTrail ones have no fast path
				out[rel+" "+res.Ref] = res.Raw
			}
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d records in the good fixtures", len(out))
	}
	return out
}

// TestFastPathAcceptsGoodFixtures: the fast path takes every real record (it must not silently
// decline them all) and agrees with encoding/json on each.
func TestFastPathAcceptsGoodFixtures(t *testing.T) {
	for name, raw := range goodRecords(t) {
		if !checkFastMatchesSlow(t, raw) {
			t.Errorf("%s: fast path declined a good record", name)
		}
		// The same record pretty-printed or compacted is still taken.
		if !checkFastMatchesSlow(t, append([]byte(" \n"), append(raw, "\r\n\t "...)...)) {
			t.Errorf("%s: fast path declined a good record with surrounding space", name)
		}
	}
}

// fastCases are hand-written edge cases: accept says whether the fast path must take the input
// (false: it must leave it to encoding/json, which either fails or would decode it differently
// from a naive reader).
var fastCases = []struct {
	name   string
	accept bool
	json   string
}{
	{"minimal", true, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"escapes", true, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m\u00e9\"\\\/\b\f\n\r\t","source":"\u003cx@example.com\u003e","commonHeaders":{"subject":"Hi \ud83d\ude00","from":["\"A, B\" <a@example.com>"]},"tags":{"key":["v\u0041"],"ses:source-ip":["192.0.2.1"]}}}`},
	{"utf8", true, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","commonHeaders":{"subject":"Grüße ✓"}}}`},
	{"empty arrays and maps", true, `{"eventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","destination":[],"tags":{},"commonHeaders":{"from":[]}},"delivery":{"recipients":[]}}`},
	{"empty tag values", true, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"a":[],"ses:source-ip":[]}}}`},
	{"nulls as absent", true, `{"eventType":"Complaint","notificationType":null,"send":null,"mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","source":null,"destination":null,"tags":null,"headersTruncated":null,"commonHeaders":null},"complaint":{"complaintSubType":null,"complainedRecipients":null}}`},
	{"headers and unknown members skipped", true, `{"eventType":"Send","mail":{"x":[1,-2.5e+3,true,false,null,{"a":[{}]}],"timestamp":"2026-05-04T09:15:27Z","messageId":"m","headers":[{"name":"X","value":"\ud800 \u0000 ` + "\xff" + `"}],"new":{"k\"":"v"}}}`},
	{"flexbool strings", true, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","headersTruncated":"True"}}`},
	{"legacy", true, `{"notificationType":"Bounce","mail":{"timestamp":"2018-10-08T14:05:45 +0000","messageId":"m","sourceIp":"::ffff:192.0.2.9","callerIdentity":"u"},"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@x"},{"status":"5.1.1"}],"timestamp":"2018-10-08T14:05:46.5 +0000"}}`},
	{"delivery number", true, `{"eventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"delivery":{"processingTimeMillis":-0,"recipients":["a@x"]}}`},
	{"subscription", true, `{"eventType":"Subscription","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"subscription":{"timestamp":"2026-05-04T09:16:00Z","newTopicPreferences":{"unsubscribeAll":true,"topicSubscriptionStatus":[{"topicName":"t","subscriptionStatus":"OptOut"}]}}}`},
	{"click link tags", true, `{"eventType":"Click","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"click":{"timestamp":"2026-05-04T09:16:00Z","linkTags":{"a":["b"]}}}`},

	{"top-level unknown member", false, `{"eventType":"Send","Records":[],"mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"syntax error", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},}`},
	{"trailing data", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}} {}`},
	{"duplicate member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","messageId":"n"}}`},
	{"duplicate null member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"mail":null}`},
	{"case-folded member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","MessageId":"m"}}`},
	{"kelvin-folded member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"tags":1,"bounce":{"bounceType":"x"},"clic\u212a":{}}`},
	{"escaped tag name", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"k\u0065y":["v"]}}}`},
	{"duplicate tag", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"ses:source-ip":["192.0.2.1"],"ses:source-ip":["203.0.113.9"]}}}`},
	{"duplicate unknown tag", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"team":["a"],"team":["b"]}}}`},
	{"escaped duplicate tag", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"ses:source-ip":["192.0.2.1"],"ses:source\u002dip":["203.0.113.9"]}}}`},
	{"case-variant type", false, `{"eventType":"Send","EventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"case-variant only", false, `{"EventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"duplicate type", false, `{"eventType":"Send","eventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"escaped member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","message\u0049d":"m"}}`},
	{"null array element", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","destination":[null]}}`},
	{"lone surrogate", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m\ud800"}}`},
	{"invalid utf-8", false, "{\"eventType\":\"Send\",\"mail\":{\"timestamp\":\"2026-05-04T09:15:27Z\",\"messageId\":\"m\xff\"}}"},
	{"wrong type", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","destination":"a@x"}}`},
	{"wrong type in dropped field", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"bounce":{"feedbackId":1}}`},
	{"float millis", false, `{"eventType":"Delivery","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"delivery":{"processingTimeMillis":1.5}}`},
	{"bad flexbool", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","headersTruncated":"yes"}}`},
	{"unknown type", false, `{"eventType":"Sent","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"subscription confirmation", false, `{"eventType":"Send","notificationType":"AmazonSnsSubscriptionSucceeded","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`},
	{"missing mail", false, `{"eventType":"Send"}`},
	{"bad time", false, `{"eventType":"Send","mail":{"timestamp":"yesterday","messageId":"m"}}`},
	{"sns member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"Message":null}`},
	{"eventbridge member", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"detail":null}`},
	{"deep", false, `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`},
	{"not an object", false, `["eventType"]`},
}

// checkDocumentFastMatchesSlow fails t when fastDocument accepts data but sniffing it and
// streaming it gives anything other than that one Result; it reports whether it accepted.
func checkDocumentFastMatchesSlow(t *testing.T, data []byte) bool {
	t.Helper()
	res, ok := fastDocument(data, "doc")
	if !ok {
		return false
	}
	want := decodeDocumentSlow(data, "doc")
	if len(want) != 1 || !reflect.DeepEqual(res, want[0]) {
		t.Fatalf("fastDocument(%q) = %+v, the slow path gives %+v", data, res, want)
	}
	return true
}

// checkEventBridgeFastMatchesSlow fails t when fastEventBridge accepts data but decodeMessage's
// encoding/json path gives a different Result (errors compared by text); it reports whether it
// accepted.
func checkEventBridgeFastMatchesSlow(t *testing.T, data []byte) bool {
	t.Helper()
	trimmed := bytes.TrimSpace(data)
	accepted := false
	for _, hint := range fastHints {
		got, ok := fastEventBridge(trimmed, "body", "r", hint)
		if !ok {
			continue
		}
		accepted = true
		want := decodeMessageSlow(trimmed, "body", "r", hint)
		if (got.Err == nil) != (want.Err == nil) || got.Err != nil && got.Err.Error() != want.Err.Error() {
			t.Fatalf("fastEventBridge(%q) error %v, the slow path gives %v", data, got.Err, want.Err)
		}
		got.Err, want.Err = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fastEventBridge(%q):\n got %+v\nwant %+v", data, got, want)
		}
	}
	return accepted
}

func TestFastEventBridge(t *testing.T) {
	n := 0
	for _, rel := range fixtureFiles(t, false) {
		if strings.HasPrefix(rel, "eventbridge/") {
			n++
			if !checkEventBridgeFastMatchesSlow(t, mustRead(t, filepath.Join(eventsDir, filepath.FromSlash(rel)))) {
				t.Errorf("%s: fastEventBridge declined a good EventBridge event", rel)
			}
		}
	}
	if n == 0 {
		t.Fatal("no EventBridge fixtures")
	}
	rec := fastCases[0].json
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{"minimal", `{"detail-type":"Email Sent","source":"aws.ses","detail":` + rec + `}`, true},
		{"not a sending event", `{"version":"0","detail-type":"Email Sending Status","source":"aws.ses","detail":{}}`, true},
		{"custom source, bad record", `{"detail-type":"x","source":"replay","time":"bad","resources":["arn:aws:ses:eu-west-1:111122223333:configuration-set/c"],"detail":{"eventType":"Nope"}}`, true},
		{"null detail", `{"detail-type":"Email Sent","source":"aws.ses","detail":null}`, false},
		{"no detail-type", `{"source":"aws.ses","detail":` + rec + `}`, false},
		{"detail string", `{"detail-type":"Email Sent","detail":"{}"}`, false},
		{"sns member", `{"detail-type":"Email Sent","Message":"x","detail":` + rec + `}`, false},
		{"record member", `{"detail-type":"Email Sent","mail":{},"detail":` + rec + `}`, false},
		{"folded member", `{"detail-type":"Email Sent","Source":"aws.ses","detail":` + rec + `}`, false},
		{"duplicate detail", `{"detail-type":"Email Sent","detail":{},"detail":` + rec + `}`, false},
		{"resources null element", `{"detail-type":"Email Sent","resources":[null],"detail":` + rec + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkEventBridgeFastMatchesSlow(t, []byte(tc.data)); got != tc.want {
				t.Errorf("fastEventBridge accepted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFastDocument(t *testing.T) {
	send := fastCases[0].json
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{"compact", send, true},
		{"surrounded", "\n\r\n \t" + send + "\n\n", true},
		{"pretty", "{\n  \"eventType\": \"Send\",\n  \"mail\": {\"timestamp\": \"2026-05-04T09:15:27Z\", \"messageId\": \"m\"}\n}\n", true},
		{"bom", "\xef\xbb\xbf" + send, false},
		{"record separator", "\x1e" + send, false},
		{"vertical tab", "\v" + send, false},
		{"two records", send + "\n" + send, false},
		{"envelope member", `{"Records":[],` + send[1:], false},
		{"sns", `{"Type":"Notification","TopicArn":"arn:aws:sns:eu-west-1:111122223333:t","Message":"{}"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkDocumentFastMatchesSlow(t, []byte(tc.data)); got != tc.want {
				t.Errorf("fastDocument accepted = %v, want %v", got, tc.want)
			}
		})
	}
	for _, rel := range fixtureFiles(t, false) {
		if strings.HasPrefix(rel, "record/") {
			data := mustRead(t, filepath.Join(eventsDir, filepath.FromSlash(rel)))
			if !checkDocumentFastMatchesSlow(t, data) {
				t.Errorf("%s: fastDocument declined a good record file", rel)
			}
		}
	}
}

func TestFastPathCases(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFastMatchesSlow(t, []byte(tc.json)); got != tc.accept {
				t.Errorf("fast path accepted = %v, want %v", got, tc.accept)
			}
			// Both ways, the public decoders give the encoding/json path's answer.
			slow := decodeMessageSlow([]byte(tc.json), "", "r", Envelope{})
			if got := decodeMessage([]byte(tc.json), "", "r", Envelope{}); !reflect.DeepEqual(got, slow) {
				t.Errorf("decodeMessage = %+v, want %+v", got, slow)
			}
		})
	}
}

// FuzzFastPathMatchesSlow: whatever the fast path accepts, encoding/json accepts too and decodes
// to the identical Event. Run with
//
//	go test -run='^$' -fuzz='^FuzzFastPathMatchesSlow$' -fuzztime=120s -parallel=1 ./shared/decode/sesevent/
func FuzzFastPathMatchesSlow(f *testing.F) {
	seedFiles(f)
	for _, raw := range goodRecords(f) {
		f.Add(raw)
	}
	for _, tc := range fastCases {
		f.Add([]byte(tc.json))
	}
	for _, rel := range fixtureFiles(f, true) {
		data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(rel)))
		if err != nil {
			f.Fatal(err)
		}
		// Bad NDJSON lines on their own.
		if strings.HasSuffix(rel, ".ndjson") {
			for line := range bytes.Lines(data) {
				f.Add(line)
			}
		}
	}
	for _, raw := range goodRecords(f) {
		for _, v := range keyVariants(raw) {
			f.Add(v)
		}
	}
	for _, name := range sescorpus.ShapeNames() {
		var buf bytes.Buffer
		if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 9, Records: 8, Shape: sescorpus.Shapes[name]}); err != nil {
			f.Fatal(err)
		}
		for line := range bytes.Lines(buf.Bytes()) {
			f.Add(bytes.TrimSuffix(line, []byte("\n")))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastMatchesSlow(t, data)
		checkDocumentFastMatchesSlow(t, data)
		checkEventBridgeFastMatchesSlow(t, data)
		// The same input with a duplicated, a case-variant and a repeated-tag member.
		for _, v := range keyVariants(data) {
			checkFastMatchesSlow(t, v)
			checkDocumentFastMatchesSlow(t, v)
		}
	})
}

// streamResults decodes r with a Stream of the given read-buffer size, scanner-only or not.
func streamResults(r io.Reader, bufSize int, slow bool, opt ...Options) []Result {
	s := NewStream(r, "f")
	s.bufSize, s.slow = bufSize, slow
	if len(opt) > 0 {
		s.setOptions(opt[0])
	}
	return collect(streamSeq(s))
}

// checkStreamFastMatchesSlow fails t unless framing whole lines with the fast path gives the same
// Results (errors compared by text) as framing everything with the scanner, whatever the read
// buffer size and however the reader splits its reads, with and without a read error at the end.
func checkStreamFastMatchesSlow(t *testing.T, data []byte) {
	t.Helper()
	readErr := errors.New("connection reset")
	for _, opt := range []Options{{}, {NoRaw: true, NoTags: true}, {NoRaw: true, NoTags: true, NoRef: true}} {
		for _, failing := range []bool{false, true} {
			checkStreamFastMatchesSlowWith(t, data, opt, failing, readErr)
		}
	}
}

func checkStreamFastMatchesSlowWith(t *testing.T, data []byte, opt Options, failing bool, readErr error) {
	t.Helper()
	{
		src := func() io.Reader {
			if failing {
				return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(readErr))
			}
			return bytes.NewReader(data)
		}
		want := streamResults(src(), 32<<10, true, opt)
		for _, size := range []int{32 << 10, 61} {
			for _, split := range []bool{false, true} {
				r := src()
				if split {
					r = iotest.HalfReader(r)
				}
				got := streamResults(r, size, false, opt)
				if len(got) != len(want) {
					t.Fatalf("buffer %d, split %v, failing %v: %d results, scanner-only gives %d, for %q", size, split, failing, len(got), len(want), data)
				}
				for i := range got {
					g, w := got[i], want[i]
					if (g.Err == nil) != (w.Err == nil) || g.Err != nil && g.Err.Error() != w.Err.Error() {
						t.Fatalf("buffer %d, split %v, failing %v, result %d: error %v, scanner-only gives %v, for %q", size, split, failing, i, g.Err, w.Err, data)
					}
					g.Err, w.Err = nil, nil
					if !reflect.DeepEqual(g, w) {
						t.Fatalf("buffer %d, split %v, failing %v, result %d:\n got %+v\nwant %+v\nfor %q", size, split, failing, i, g, w, data)
					}
				}
			}
		}
	}
}

func TestStreamFastLinesMatchScanner(t *testing.T) {
	var all bytes.Buffer
	for _, raw := range goodRecords(t) {
		all.Write(raw)
		all.WriteString("\n")
	}
	for _, tc := range fastCases {
		all.WriteString(tc.json + " \r\n")
	}
	cases := map[string]string{
		"good and bad records": all.String(),
		"pretty first":         "{\n\"eventType\":\"Send\"}\n" + all.String(),
		"two on a line":        fastCases[0].json + fastCases[0].json + "\n" + fastCases[0].json + "\n",
		"record separator":     "\x1e" + fastCases[0].json + "\x1e\n" + fastCases[0].json + "\v\n",
		"no final newline":     fastCases[0].json + "\n" + fastCases[0].json,
		"truncated":            fastCases[0].json[:40] + "\n" + fastCases[0].json + "\n",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			checkStreamFastMatchesSlow(t, []byte(data))
		})
	}
}

// TestStreamFastLinesUsed: NDJSON of good records is framed without the scanner (which is the
// only writer of s.rec), even when lines straddle read-buffer refills.
func TestStreamFastLinesUsed(t *testing.T) {
	var all bytes.Buffer
	for _, raw := range goodRecords(t) {
		if err := json.Compact(&all, raw); err != nil {
			t.Fatal(err)
		}
		all.WriteString("\r\n")
	}
	n := bytes.Count(all.Bytes(), []byte("\n"))
	s := NewStream(bytes.NewReader(all.Bytes()), "f")
	s.bufSize = all.Len() + 1 // one read: no record straddles a refill
	got := collect(streamSeq(s))
	if len(got) != n {
		t.Fatalf("%d results for %d lines", len(got), n)
	}
	for _, r := range got {
		if r.Err != nil || len(r.Events) != 1 {
			t.Fatalf("%s: %+v", r.Ref, r)
		}
	}
	if cap(s.rec) > 0 {
		t.Errorf("the scanner framed records (%d bytes buffered) in %d lines of good NDJSON", cap(s.rec), n)
	}
}

// FuzzStreamFastMatchesSlow: framing whole lines with the fast path never changes a stream's
// Results. Run like FuzzFastPathMatchesSlow.
func FuzzStreamFastMatchesSlow(f *testing.F) {
	seedFiles(f)
	for _, tc := range fastCases {
		f.Add([]byte(tc.json + "\n" + tc.json + "\n"))
		for _, v := range keyVariants([]byte(tc.json)) {
			f.Add([]byte(tc.json + "\n" + string(v) + "\n"))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStreamFastMatchesSlow(t, data)
		for _, v := range keyVariants(data) {
			checkStreamFastMatchesSlow(t, v)
		}
	})
}

// checkSimpleAddress fails t when parseSimpleAddress accepts v but net/mail (as parseAddresses
// uses it) parses it differently.
func checkSimpleAddress(t *testing.T, v string) bool {
	t.Helper()
	a, ok := parseSimpleAddress(v)
	if !ok {
		return false
	}
	list, err := (&mail.AddressParser{}).ParseList(v)
	if err != nil || len(list) != 1 || list[0].Name != a.Name || list[0].Address != a.Address {
		t.Fatalf("parseSimpleAddress(%q) = %+v, net/mail gives %+v, %v", v, a, list, err)
	}
	return true
}

func TestSimpleAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"billing@mail.example.com", true},
		{"Example Billing <billing@mail.example.com>", true},
		{"J. O'Brien-Smith <j.o+tag_1@example.co.uk>", true},
		{". <a@b>", true},
		{"a.b <c@d>", true},
		{"=?UTF-8?B?RXhhbXBsZQ==?= <a@b>", false},
		{`"Quoted, Name" <a@b>`, false},
		{"Two  Spaces <a@b>", false},
		{"a@b (comment)", false},
		{"a@b, c@d", false},
		{"<a@b>", false},
		{"a..b@c", false},
		{".a@b", false},
		{"a@b.", false},
		{"a@[192.0.2.1]", false},
		{" a@b", false},
		{"Grüße <a@b>", false},
	} {
		if got := checkSimpleAddress(t, tc.in); got != tc.want {
			t.Errorf("parseSimpleAddress(%q) ok = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzSimpleAddressMatchesNetMail: what parseSimpleAddress accepts, net/mail parses identically.
func FuzzSimpleAddressMatchesNetMail(f *testing.F) {
	for _, s := range []string{"billing@mail.example.com", "Example Billing <billing@mail.example.com>", "J. O'Brien <j.o+t@x.y>", "a.b <c@d>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) { checkSimpleAddress(t, v) })
}

// Records shaped like SES's (members in SES's order, so the literal member matching is taken,
// with the auto-tags and repeating values the per-stream caches serve) decode on the fast path
// exactly as on the encoding/json path, with and without the options.
// Every corpus shape: other header mixes, user tags, sizes and member orders are still read by
// the fast path, not declined to the slow one.
func TestCorpusFastMatchesSlow(t *testing.T) {
	for _, name := range sescorpus.ShapeNames() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 7, Records: 400, Shape: sescorpus.Shapes[name]}); err != nil {
				t.Fatal(err)
			}
			checkStreamFastMatchesSlow(t, buf.Bytes())
			for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))[:50] {
				if !checkFastMatchesSlow(t, line) {
					t.Fatalf("fast path declined a corpus record: %s", line)
				}
			}
		})
	}
}

// Auto-tags out of SES's order are read like literals: a repeat of one, in any order, is still
// refused as on the encoding/json path.
func TestOutOfOrderTags(t *testing.T) {
	rec := func(tags string) []byte {
		return []byte(`{"eventType":"Send","mail":{"timestamp":"2026-05-04T00:00:00.000Z","source":"a@b.example","messageId":"m1","destination":["c@d.example"],"tags":{` + tags + `}},"send":{}}`)
	}
	for _, tc := range []struct {
		tags string
		fast bool // the fast path reads it (else declines; checkFastMatchesSlow compares either way)
	}{
		{`"ses:source-ip":["10.0.0.1"],"ses:operation":["SendEmail"],"ses:caller-identity":["u"]`, true},
		{`"app":["x"],"ses:caller-identity":["u"],"ses:source-ip":["10.0.0.1"],"tenant":["t"]`, true},
		{`"ses:source-ip":["10.0.0.1"],"ses:operation":["SendEmail"],"ses:source-ip":["10.0.0.2"]`, false},
		{`"ses:caller-identity":["u"],"app":["x"],"app":["y"]`, false},
		{`"ses:caller-identity":["u"],"ses:caller-identity":["v"]`, false},
		{`"ses:source-ip":["10.0.0.1"],"ses:source-ip" :["10.0.0.2"]`, false},
		{`"ses:operation":["SendEmail"],"ses:source-ip":["10.0.0.1","10.0.0.2"]`, true},
	} {
		if got := checkFastMatchesSlow(t, rec(tc.tags)); got != tc.fast {
			t.Errorf("tags {%s}: fast path read it = %v, want %v", tc.tags, got, tc.fast)
		}
	}
}

// NoRef drops the Ref of decoded records only: records in error still name their line.
func TestNoRefKeepsErrorRefs(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 3, Records: 2}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	data := bytes.Join([][]byte{lines[0], []byte(`{"eventType":"Send","mail":{}}`), lines[1], []byte(`{"eventType":`)}, []byte("\n"))
	for _, workers := range []int{1, 2} {
		got := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRef: true, Workers: workers}))
		if len(got) != 4 {
			t.Fatalf("workers %d: %d results, want 4", workers, len(got))
		}
		for i, want := range []string{"", "f:2", "", "f:4"} {
			if got[i].Ref != want || (got[i].Err != nil) != (want != "") {
				t.Errorf("workers %d, result %d: Ref %q, err %v; want Ref %q", workers, i, got[i].Ref, got[i].Err, want)
			}
		}
	}
}
