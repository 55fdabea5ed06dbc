package detect

import "unsafe"

// Small direct-mapped tables sit in front of the per-batch maps a send looks up (verdicts, send
// counters, SendInfo indexes). They pick a slot from where a key's strings live: the decoder
// interns the values that repeat (principals, accounts, ARNs, identities, From), so equal values
// usually share an address and a hit costs pointer-equal compares instead of hashing. The slot
// is only a hint; every table confirms a hit by comparing the key.

// addrHint mixes the addresses and lengths of three strings.
func addrHint(a, b, c string) uintptr {
	var h uintptr
	for _, s := range [3]string{a, b, c} {
		h = h*31 + uintptr(unsafe.Pointer(unsafe.StringData(s))) + uintptr(len(s)) //nolint:gosec // the address is hashed, never dereferenced
	}
	return h
}

// slotOf folds h into a slot of a table of size entries (a power of two).
func slotOf(h uintptr, size int) int {
	return int((h ^ h>>7 ^ h>>13) & uintptr(size-1))
}
