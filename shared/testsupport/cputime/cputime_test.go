package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestSelfAdvancesWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no getrusage")
	}
	start := Self()
	if start <= 0 {
		t.Fatalf("Self() = %v at start, want > 0", start)
	}
	x := 0
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	if got := Self(); got <= start {
		t.Fatalf("Self() = %v after 50 ms of work, want > %v (x=%d)", got, start, x)
	}
}
