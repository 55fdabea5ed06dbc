package sesevent

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// trailRecords returns the compact SendEmail and DescribeRegions records of the trail-log fixture.
func trailRecords(t *testing.T) (send, other []byte) {
	t.Helper()
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(mustRead(t, filepath.Join(eventsDir, "cloudtrail", "trail-log.json")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Records {
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(r, []byte(`"ses.amazonaws.com"`)) {
			send = b.Bytes()
		} else {
			other = b.Bytes()
		}
	}
	if send == nil || other == nil {
		t.Fatal("trail-log.json lacks a SendEmail or another service's record")
	}
	return send, other
}

// writeTrail writes a CloudTrail log file of calls SendEmail records (distinct eventIDs), another
// service's record every 100th element, and at element big (if >= 0) a SendEmail record of more
// than MaxRecordSize; it returns the element index of each kind.
func writeTrail(t *testing.T, w io.Writer, calls, big int) (skips int) {
	t.Helper()
	send, other := trailRecords(t)
	const id = `"eventID":"`
	at := bytes.Index(send, []byte(id))
	if at < 0 {
		t.Fatal("no eventID in the SendEmail record")
	}
	at += len(id)
	io.WriteString(w, `{"Records":[`)
	for i, n := 0, 0; n < calls; i++ {
		if i > 0 {
			io.WriteString(w, ",")
		}
		switch {
		case i == big:
			pad := strings.Repeat("x", MaxRecordSize)
			w.Write(bytes.Replace(send, []byte(`"requestParameters":{`), []byte(`"requestParameters":{"pad":"`+pad+`",`), 1))
		case i%100 == 99:
			w.Write(other)
			skips++
		default:
			fmt.Fprintf(w, "%s%08d%s", send[:at], n, send[at+8:])
			n++
		}
	}
	io.WriteString(w, "]}\n")
	return skips
}

// TestLargeTrailFile: a CloudTrail log file over MaxDocumentSize (9 MiB, 5,216 SES calls, as a
// busy account writes them) decodes every call, plain and gzip; it used to be framed as one
// 9 MB record and fail whole ("record is 9012151 bytes, more than the 1048576-byte limit"). An
// element over the per-record limit fails alone, named.
func TestLargeTrailFile(t *testing.T) {
	const calls, big = 5216, 2500
	var buf bytes.Buffer
	skips := writeTrail(t, &buf, calls, big)
	if buf.Len() <= MaxDocumentSize+MaxRecordSize {
		t.Fatalf("generated only %d bytes", buf.Len())
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "111122223333_CloudTrail_eu-west-1_20260504T0900Z_x.json")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	zw.Close()
	for path, data := range map[string][]byte{plain: buf.Bytes(), plain + ".gz": z.Bytes()} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	buf = bytes.Buffer{}
	for _, path := range []string{plain, plain + ".gz"} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			var got, skipped int
			var errs []string
			seen := map[string]bool{}
			for res := range DecodeFileWith(path, Options{NoRaw: true}) {
				switch {
				case res.Err != nil:
					errs = append(errs, res.Err.Error())
				case res.Skip != "":
					skipped++
				case res.APICall != nil:
					got++
					seen[res.APICall.EventID] = true
				}
			}
			if got != calls || len(seen) != calls || skipped != skips {
				t.Errorf("%d calls (%d distinct), %d skipped; want %d and %d", got, len(seen), skipped, calls, skips)
			}
			want := fmt.Sprintf("record %s:Records[%d]: record is", path, big)
			if len(errs) != 1 || !strings.HasPrefix(errs[0], want) || !strings.Contains(errs[0], "more than the 1048576-byte limit") {
				t.Errorf("errors %.300q, want one: %s … more than the limit", errs, want)
			}
		})
	}
}

// TestTrailStreamMemory: streaming a 24 MB trail file keeps one element in memory, not the file.
func TestTrailStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 24 MB")
	}
	pr, pw := io.Pipe()
	go func() {
		writeTrail(t, pw, 14000, -1)
		pw.Close()
	}()
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	n := 0
	streamRecords(pr, "trail", Options{NoRaw: true}, func(res Result) bool {
		if res.Err != nil {
			t.Fatalf("%s: %v", res.Ref, res.Err)
		}
		if n++; n%500 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return true
	})
	if n < 14000 {
		t.Fatalf("%d results", n)
	}
	// The test binary's own heap is a few MB; the file is 24 MB.
	t.Logf("peak heap %.1f MB", float64(peak)/1e6)
	if peak > 16<<20 {
		t.Errorf("heap reached %d MB while streaming a 24 MB file", peak>>20)
	}
}

// TestTrailStreamMatchesDocument: a trail file small enough to be one document decodes the same
// when streamed element by element, and broken ones end with an error naming the element.
func TestTrailStreamMatchesDocument(t *testing.T) {
	doc := mustRead(t, filepath.Join(eventsDir, "cloudtrail", "trail-log.json"))
	var got []Result
	streamRecords(bytes.NewReader(doc), "f", Options{}, func(r Result) bool { got = append(got, r); return true })
	if want := DecodeAny(doc, "f"); !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed:\n%+v\nas a document:\n%+v", got, want)
	}
	send, _ := trailRecords(t)
	for _, tc := range []struct{ name, doc, last string }{
		{"missing comma", `{"Records":[` + string(send) + string(send) + `]}`, "f:Records[1]: invalid JSON at line 1: want ',' or ']' after Records[0]"},
		{"scalar element", `{"Records":[` + string(send) + `,7]}`, "f:Records[1]: invalid JSON at line 1: want a record object"},
		{"truncated", `{"Records":[` + string(send) + `,` + string(send[:100]), "f:Records[1]: truncated JSON"},
		{"member after Records", `{"Records":[` + string(send) + `],"x":1}`, "f:Records: invalid JSON at line 1: want '}' after the Records array"},
		{"trailing data", `{"Records":[` + string(send) + `]} {}`, "f:Records: invalid JSON at line 1: data after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []Result
			streamRecords(strings.NewReader(tc.doc), "f", Options{}, func(r Result) bool { rs = append(rs, r); return true })
			if len(rs) == 0 || rs[0].APICall == nil {
				t.Fatalf("first element not decoded: %+v", rs)
			}
			last := rs[len(rs)-1]
			if last.Err == nil || !strings.HasPrefix(last.Err.Error(), "record "+tc.last) {
				t.Fatalf("last result %+v, want an error %q…", last, tc.last)
			}
		})
	}
}
