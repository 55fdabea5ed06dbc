package sesevent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/testsupport/cputime"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// benchEnvelopes groups the fixture corpus by envelope.
var benchEnvelopes = []struct {
	name  string
	match func(rel string) bool
}{
	{"record", func(r string) bool { return strings.HasPrefix(r, "record/") }},
	{"sns-lambda", func(r string) bool { return strings.HasPrefix(r, "sns/") }},
	{"eventbridge-lambda", func(r string) bool { return strings.HasPrefix(r, "eventbridge/") }},
	{"sqs-sns", func(r string) bool { return strings.HasPrefix(r, "sqs/sns-") }},
	{"sqs-raw", func(r string) bool { return strings.HasPrefix(r, "sqs/raw-") }},
	{"sqs-eventbridge", func(r string) bool { return strings.HasPrefix(r, "sqs/eventbridge-") }},
	{"firehose", func(r string) bool { return strings.HasPrefix(r, "firehose/") }},
	{"kinesis", func(r string) bool { return strings.HasPrefix(r, "kinesis/") }},
	{"ndjson", func(r string) bool { return strings.HasSuffix(r, ".ndjson") }},
	{"ndjson-gz", func(r string) bool { return strings.HasSuffix(r, ".ndjson.gz") }},
}

type benchFile struct {
	rel  string
	data []byte
}

func benchCorpus(b *testing.B, match func(string) bool) (files []benchFile, size int64, records int) {
	b.Helper()
	for _, rel := range fixtureFiles(b, false) {
		if !match(rel) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(rel)))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, benchFile{rel, data})
		size += int64(len(data))
		records += len(DecodeAny(data, rel))
	}
	if len(files) == 0 {
		b.Fatal("no fixtures")
	}
	return files, size, records
}

// BenchmarkDecode decodes each envelope's fixtures from their bytes (envelope JSON included), the
// way the CLI reads files: go test -run='^$' -bench=BenchmarkDecode -benchtime=2000x ./shared/decode/sesevent/
func BenchmarkDecode(b *testing.B) {
	for _, env := range benchEnvelopes {
		b.Run(env.name, func(b *testing.B) {
			files, size, records := benchCorpus(b, env.match)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Self()
			for b.Loop() {
				for _, f := range files {
					for range DecodeReader(bytes.NewReader(f.data), f.rel) {
					}
				}
			}
			reportRates(b, records, cputime.Self()-cpu0)
		})
	}
}

// BenchmarkDecodeTyped measures what a Lambda handler pays after the runtime has unmarshalled the
// event into its aws-lambda-go type.
func BenchmarkDecodeTyped(b *testing.B) {
	for _, env := range benchEnvelopes[1:8] {
		b.Run(env.name, func(b *testing.B) {
			files, size, records := benchCorpus(b, env.match)
			var decode []func() []Result
			for _, f := range files {
				switch {
				case strings.HasPrefix(f.rel, "sqs/"):
					var ev events.SQSEvent
					mustUnmarshalB(b, f.data, &ev)
					decode = append(decode, func() []Result { return DecodeSQS(ev) })
				case strings.HasPrefix(f.rel, "sns/"):
					var ev events.SNSEvent
					mustUnmarshalB(b, f.data, &ev)
					decode = append(decode, func() []Result { return DecodeSNS(ev) })
				case strings.HasPrefix(f.rel, "eventbridge/"):
					var ev events.CloudWatchEvent
					mustUnmarshalB(b, f.data, &ev)
					decode = append(decode, func() []Result { return []Result{DecodeEventBridge(ev)} })
				case strings.HasPrefix(f.rel, "firehose/"):
					var ev events.KinesisFirehoseEvent
					mustUnmarshalB(b, f.data, &ev)
					decode = append(decode, func() []Result { return DecodeFirehose(ev) })
				case strings.HasPrefix(f.rel, "kinesis/"):
					var ev events.KinesisEvent
					mustUnmarshalB(b, f.data, &ev)
					decode = append(decode, func() []Result { return DecodeKinesis(ev) })
				}
			}
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Self()
			for b.Loop() {
				for _, d := range decode {
					d()
				}
			}
			reportRates(b, records, cputime.Self()-cpu0)
		})
	}
}

func mustUnmarshalB(b *testing.B, data []byte, v any) {
	b.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		b.Fatal(err)
	}
}

// reportRates adds records per wall-clock second and, where measurable, per CPU-second of the
// benchmark process (the figure that matters on a loaded machine).
func reportRates(b *testing.B, records int, cpu time.Duration) {
	n := float64(records) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkDecodeRealistic streams 20,000 records of the realistic corpus (shared/testsupport/sescorpus:
// mail.headers, commonHeaders, 7+ tags, 1–10 KB) through DecodeReaderWith as replay and
// investigate do:
// go test ./shared/decode/sesevent -run '^$' -bench DecodeRealistic -benchtime 20x -cpu 1 -count 3
func BenchmarkDecodeRealistic(b *testing.B) {
	var buf bytes.Buffer
	st, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 1, Records: 20000})
	if err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cputime.Self()
	for b.Loop() {
		n := 0
		for res := range DecodeReaderWith(bytes.NewReader(data), "bench", Options{NoRaw: true, NoTags: true}) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			n++
		}
		if n != int(st.Records) {
			b.Fatalf("%d records, want %d", n, st.Records)
		}
	}
	reportRates(b, int(st.Records), cputime.Self()-cpu0)
}
