//go:build !amd64 || purego

package sesevent

// haveAVX2 is false off amd64 (and with the purego tag): scanString's word loop does the work.
const haveAVX2 = false

// plainRun32 is never called when haveAVX2 is false.
func plainRun32(_ []byte, i int) int { return i }
