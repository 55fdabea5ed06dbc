package detect

import (
	"math/rand/v2"
	"testing"
)

// markTable against a map under random inserts, removes, lookups and prunes. Keys share their
// low bits in runs, so probe chains are long and removals shift entries back across them and
// across the end of the slots.
func TestMarkTableMatchesMap(t *testing.T) {
	for _, spread := range []uint64{1 << 40, 7, 1} { // distinct homes, clustered, one home
		r := rand.New(rand.NewPCG(1, spread))
		var tab markTable
		ref := map[markKey]memMark{}
		key := func() markKey {
			n := r.Uint64N(3000)
			return markKey{(n%spread)*0x9e3779b97f4a7c15 + uint64(len(tab.slots)) - 3, n} // some homes near the end
		}
		for op := range 60000 {
			k := key()
			switch r.IntN(10) {
			case 0, 1, 2, 3:
				m := memMark{expSec: int64(op), info: uint32(op)}
				_, had := ref[k]
				if got := tab.insert(k, m); got == had {
					t.Fatalf("spread %d op %d: insert %v reported %v, key present before: %v", spread, op, k, got, had)
				}
				if !had {
					ref[k] = m
				}
			case 4, 5, 6:
				tab.remove(k)
				delete(ref, k)
			case 7, 8:
				m, ok := tab.get(k)
				want, wok := ref[k]
				if ok != wok || m != want {
					t.Fatalf("spread %d op %d: get %v = %v %v, want %v %v", spread, op, k, m, ok, want, wok)
				}
			default:
				if r.IntN(50) == 0 {
					cut := int64(op - 5000)
					tab.keep(func(_ markKey, m *memMark) bool { m.info++; return m.expSec >= cut })
					for k, m := range ref {
						if m.expSec < cut {
							delete(ref, k)
						} else {
							m.info++
							ref[k] = m
						}
					}
				}
			}
			if tab.len() != len(ref) {
				t.Fatalf("spread %d op %d: %d marks, want %d", spread, op, tab.len(), len(ref))
			}
		}
		n := 0
		tab.each(func(k markKey, m *memMark) {
			n++
			if want, ok := ref[k]; !ok || *m != want {
				t.Fatalf("spread %d: each gave %v %v, want %v %v", spread, k, *m, want, ok)
			}
		})
		if n != len(ref) {
			t.Fatalf("spread %d: each visited %d marks, want %d", spread, n, len(ref))
		}
	}
}

// The all-zero hash is the empty-slot marker; a key hashing to it is still a mark.
func TestMarkTableZeroKey(t *testing.T) {
	var tab markTable
	if _, ok := tab.get(markKey{}); ok {
		t.Fatal("empty table has the zero key")
	}
	if !tab.insert(markKey{}, memMark{info: 7}) || tab.insert(markKey{}, memMark{}) {
		t.Fatal("zero key: first insert must add, second must not")
	}
	if m, ok := tab.get(markKey{}); !ok || m.info != 7 {
		t.Fatalf("zero key: got %v %v", m, ok)
	}
	tab.remove(markKey{})
	if _, ok := tab.get(markKey{}); ok || tab.len() != 0 {
		t.Fatal("zero key still present after remove")
	}
}

// A prune that drops most marks gives their memory back: the survivors move to a table at most
// half full, and every one of them is still found.
func TestMarkTableKeepShrinks(t *testing.T) {
	var tab markTable
	for i := range uint64(20000) {
		tab.insert(markKey{i * 0x9e3779b97f4a7c15, i}, memMark{expSec: int64(i)})
	}
	grown := len(tab.slots)
	tab.keep(func(_ markKey, m *memMark) bool { return m.expSec%100 == 0 })
	if tab.len() != 200 || len(tab.slots) >= grown || len(tab.slots) < 2*tab.len() {
		t.Fatalf("after keeping 200 of 20,000: %d marks in %d slots (were %d)", tab.len(), len(tab.slots), grown)
	}
	for i := uint64(0); i < 20000; i += 100 {
		if m, ok := tab.get(markKey{i * 0x9e3779b97f4a7c15, i}); !ok || m.expSec != int64(i) {
			t.Fatalf("mark %d lost in the prune", i)
		}
	}
}
