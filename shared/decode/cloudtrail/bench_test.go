package cloudtrail

import (
	"testing"

	"github.com/sesguard/sesguard/shared/testsupport/cputime"
)

// BenchmarkDecode decodes the GetSendQuota record (a typical management event, ~1.2 KB) and
// reports records per CPU second as well as per wall second (the machine is shared).
func BenchmarkDecode(b *testing.B) {
	data := fixture(b, "eventbridge-get-send-quota.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cputime.Self()
	for b.Loop() {
		if _, err := Decode(data, Envelope{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu := cputime.Self() - start; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}
