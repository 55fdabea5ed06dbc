//go:build !purego

package sesevent

import "golang.org/x/sys/cpu"

// haveAVX2 says whether plainRun32 runs (set once at start from CPUID, never changed).
var haveAVX2 = cpu.X86.HasAVX2

// plainRun32 returns the index of the first byte at or after i that is '"', '\\', below 0x20 or
// at least 0x80, looking 32 bytes at a time with AVX2 while 32 bytes remain; when it finds none
// it returns the first index from which fewer than 32 bytes remain (every byte before it is
// plain). It reads only data[i:len(data)]. Implemented in plainrun_amd64.s.
//
//go:noescape
func plainRun32(data []byte, i int) int
