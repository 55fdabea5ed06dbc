package sesevent

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipTrailingBytes: bytes after the last gzip member are reported, however few (fewer than
// 10 used to be dropped silently: compress/gzip reads them as a short header); the records before
// them still decode. Several members are one stream, as gzip -d reads them.
func TestGzipTrailingBytes(t *testing.T) {
	rec := `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}` + "\n"
	two := gzipOf(t, rec+rec)
	long := strings.Repeat(rec, 2000) // past the 64 KiB NDJSON sniff
	for _, tc := range []struct {
		name   string
		data   []byte
		events int
		err    string
	}{
		{"clean", two, 2, ""},
		{"two members", append(bytes.Clone(two), gzipOf(t, rec)...), 3, ""},
		{"one NUL", append(bytes.Clone(two), 0), 2, "gzip: 1 bytes after the last gzip member (1)"},
		{"newline", append(bytes.Clone(two), '\n'), 2, "gzip: 1 bytes after the last gzip member"},
		{"nine bytes", append(bytes.Clone(two), "123456789"...), 2, "gzip: 9 bytes after the last gzip member"},
		{"ten bytes", append(bytes.Clone(two), "0123456789"...), 2, "gzip: 10 bytes after the last gzip member"},
		{"after a second member", append(append(bytes.Clone(two), gzipOf(t, rec)...), "abc"...), 3, "gzip: 3 bytes after the last gzip member (2)"},
		{"half a magic", append(bytes.Clone(two), 0x1f), 2, "gzip: 1 bytes after"},
		{"truncated second member", append(bytes.Clone(two), gzipOf(t, rec)[:12]...), 2, "gzip member 2: gzip: input ends inside a member"},
		{"truncated member", two[:len(two)-4], 2, "input ends inside a member"},
		{"long, trailing", append(gzipOf(t, long), "xy"...), 2000, "gzip: 2 bytes after the last gzip member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for how, rs := range map[string][]Result{
				"DecodeReader": collect(DecodeReader(bytes.NewReader(tc.data), "f")),
				"Stream":       collect(streamSeq(NewStream(bytes.NewReader(tc.data), "f"))),
			} {
				events, errs := 0, []string{}
				for _, r := range rs {
					events += len(r.Events)
					if r.Err != nil {
						errs = append(errs, r.Err.Error())
					}
				}
				if events != tc.events {
					t.Errorf("%s: %d events, want %d (errors %q)", how, events, tc.events, errs)
				}
				switch {
				case tc.err == "" && len(errs) > 0:
					t.Errorf("%s: errors %q, want none", how, errs)
				case tc.err != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.err)):
					t.Errorf("%s: errors %q, want one with %q", how, errs, tc.err)
				}
			}
		})
	}
}
