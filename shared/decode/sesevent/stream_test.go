package sesevent

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	sendA = `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27.418Z","messageId":"a","tags":{"ses:caller-identity":["mailer-task-role"]}},"send":{}}`
	sendB = `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:28.418Z","messageId":"b"},"send":{}}`
)

// outcome renders a Result compactly: "ok:<messageId>", "skip", or "err:<message>".
func outcome(r Result) string {
	switch {
	case r.Err != nil:
		return "err:" + r.Err.Error()
	case r.Skip != "":
		return "skip"
	case len(r.Events) == 1:
		return "ok:" + r.Events[0].MessageID
	case r.APICall != nil:
		return "call:" + r.APICall.EventName
	}
	return "invalid result"
}

func readStream(t *testing.T, in []byte) []Result {
	t.Helper()
	s := NewStream(bytes.NewReader(in), "f")
	var out []Result
	for {
		r, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, r)
		if len(out) > 1000 {
			t.Fatal("stream does not end")
		}
	}
}

func TestStreamFraming(t *testing.T) {
	pretty := strings.ReplaceAll(sendB, `,"`, ",\n  \"")
	tests := []struct {
		name string
		in   string
		want []string // "<ref> <outcome prefix>"
	}{
		{"ndjson", sendA + "\n" + sendB + "\n", []string{"f:1 ok:a", "f:2 ok:b"}},
		{"concatenated", sendA + sendB, []string{"f:1 ok:a", "f:1 ok:b"}},
		{"blank lines and CRLF", "\r\n" + sendA + "\r\n\r\n" + sendB, []string{"f:2 ok:a", "f:4 ok:b"}},
		{"pretty printed", pretty + "\n" + pretty, []string{"f:1 ok:b", "f:" + strconv.Itoa(strings.Count(pretty, "\n")+2) + " ok:b"}},
		{"truncated line inside string", sendA + "\n" + sendB[:44] + "\n" + sendB + "\n", []string{"f:1 ok:a", "f:2 err:record f:2: invalid JSON at line 2: line ends inside a string", "f:3 ok:b"}},
		{"truncated line outside string", sendA + "\n" + `{"eventType":"Send","mail":{` + "\n" + sendB + "\n", []string{"f:1 ok:a", "f:2 err:record f:2: line 2 ends inside a JSON value", "f:3 ok:b"}},
		{"truncated first line, undecided mode", `{"eventType":"Send","mail":{` + "\n" + sendA + "\n" + sendB, []string{"f:1 err:record f:1: invalid JSON at line 2: want an object key", "f:2 ok:a", "f:3 ok:b"}},
		{"truncated at EOF", sendA + "\n" + sendB[:50], []string{"f:1 ok:a", "f:2 err:record f:2: truncated JSON"}},
		{"garbage line", sendA + "\nnot json at all\n" + sendB, []string{"f:1 ok:a", "f:2 err:record f:2: want a JSON object, got non-JSON text", "f:3 ok:b"}},
		{"validation text", "Successfully validated SNS topic for Amazon SES event publishing.\n" + sendA, []string{"f:1 skip", "f:2 ok:a"}},
		{"syntax error mid-line", sendA + "\n" + `{"eventType":"Send" "mail":{}}` + "\n" + sendB, []string{"f:1 ok:a", "f:2 err:record f:2: invalid JSON at line 2: want ','", "f:3 ok:b"}},
		{"bad record content", sendA + "\n" + `{"eventType":"Send","mail":{"timestamp":5,"messageId":"x"}}` + "\n" + sendB, []string{"f:1 ok:a", "f:2 err:record f:2: field mail.timestamp: wrong JSON type", "f:3 ok:b"}},
		{"BOM", "\xef\xbb\xbf" + sendA, []string{"f:1 ok:a"}},
		{"empty", "", nil},
		{"deep nesting", sendA + "\n" + `{"a":` + strings.Repeat("[", 10000) + "\n" + sendB, []string{"f:1 ok:a", "f:2 err:record f:2: invalid JSON at line 2: nested deeper than 64 levels", "f:3 ok:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readStream(t, []byte(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results, want %d: %v", len(got), len(tt.want), outcomes(got))
			}
			for i, r := range got {
				if s := r.Ref + " " + outcome(r); !strings.HasPrefix(s, tt.want[i]) {
					t.Errorf("result %d: got %q, want prefix %q", i, s, tt.want[i])
				}
			}
		})
	}
}

func outcomes(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ref+" "+outcome(r))
	}
	return out
}

func TestStreamOversizeLine(t *testing.T) {
	// A 10 MB line fails alone, quickly and without buffering it.
	huge := `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"huge","commonHeaders":{"subject":"` +
		strings.Repeat("A", 10<<20) + `"}},"send":{}}`
	for _, tc := range []struct{ name, in string }{
		{"valid JSON", huge},
		{"unterminated", huge[:len(huge)-20]},
		{"no JSON at all", strings.Repeat("x", 10<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := readStream(t, []byte(sendA+"\n"+tc.in+"\n"+sendB+"\n"))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if len(got) != 3 || outcome(got[0]) != "ok:a" || outcome(got[2]) != "ok:b" || got[1].Err == nil || got[1].Ref != "f:2" {
				t.Fatalf("got %v", outcomes(got))
			}
			t.Log(got[1].Err)
		})
	}
}

func TestStreamGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(sendA + "\n" + sendB + "\n"))
	_ = zw.Close()
	got := readStream(t, buf.Bytes())
	if len(got) != 2 || outcome(got[0]) != "ok:a" || outcome(got[1]) != "ok:b" {
		t.Fatalf("got %v", outcomes(got))
	}
	// A truncated gzip member reports the read error once, after the records it could read.
	got = readStream(t, buf.Bytes()[:buf.Len()-10])
	errs := 0
	for _, r := range got {
		if r.Err != nil {
			errs++
		}
	}
	if last := got[len(got)-1]; errs != 1 || last.Err == nil || !strings.Contains(last.Err.Error(), "read") {
		t.Fatalf("want exactly one trailing read error, got %v", outcomes(got))
	}
	// A read error inside a record fails that record once, and ends the stream.
	s := NewStream(io.MultiReader(strings.NewReader(sendA+"\n"+sendB[:30]), &errReader{err: errors.New("connection reset")}), "f")
	var rs []Result
	for r, ok := s.Next(); ok; r, ok = s.Next() {
		rs = append(rs, r)
	}
	if len(rs) != 2 || outcome(rs[0]) != "ok:a" || rs[1].Err == nil || !strings.Contains(rs[1].Err.Error(), "read: connection reset") {
		t.Fatalf("got %v", outcomes(rs))
	}
	// Not gzip after all.
	got = readStream(t, []byte{0x1f, 0x8b, 'x', 'y'})
	if len(got) != 1 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "gzip") {
		t.Fatalf("got %v", outcomes(got))
	}
}
