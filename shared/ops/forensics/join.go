package forensics

// joinTable remembers, for the most recent max Sends, which group their message went to (or
// that it was filtered out). It is a FIFO: when full, the oldest message id is forgotten. SES
// publishes Delivery and most Bounces within seconds to minutes of the Send, so a window of a
// few hundred thousand messages covers all but late complaints and delayed bounces on very busy
// accounts; those fall back to their own tags (see Aggregator.Add).
type joinTable struct {
	max     int
	ids     map[string]int32 // message id -> group index, or filteredOut
	ring    []string
	head    int
	evicted int64
}

// filteredOut marks a Send that did not pass the filter: its outcomes are dropped too.
const filteredOut = -1

func newJoinTable(max int) *joinTable {
	return &joinTable{max: max, ids: make(map[string]int32, min(max, 1<<16))}
}

func (j *joinTable) get(id string) (int32, bool) {
	g, ok := j.ids[id]
	return g, ok
}

// put records id; the caller has checked it is not present.
func (j *joinTable) put(id string, g int32) {
	if j.max <= 0 {
		return
	}
	if len(j.ring) < j.max {
		j.ring = append(j.ring, id)
	} else {
		delete(j.ids, j.ring[j.head])
		j.evicted++
		j.ring[j.head] = id
		j.head = (j.head + 1) % j.max
	}
	j.ids[id] = g
}
