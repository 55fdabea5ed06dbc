// Package statekeys names the layout of sesguard's one DynamoDB state table: its key and TTL
// attributes and the partition-key prefix of each user. Every package that reads or writes the
// table takes its words from here, so two users can never write each other's items (a test holds
// the prefixes apart) and the CDK app grants and conditions on the same strings.
package statekeys

// The table's attributes: partition key, sort key (both strings) and the TTL attribute (epoch
// seconds).
const (
	HashKey = "pk"
	SortKey = "sk"
	TTLAttr = "ttl"
)

// Partition-key prefixes, one per user of the table.
const (
	Detect         = "detect#"          // detection windows, dedup marks, API-send joins (engine/detect)
	ContainAction  = "contain#action#"  // containment ledger rows (engine/contain)
	ContainLock    = "contain#lock#"    // per-target leases serialising containment writers
	ContainHolders = "contain#holders#" // the findings holding a shared containment
	ContainRate    = "contain#rate#"    // containment rate limits
	Alert          = "alert#"           // alert dedup per destination (deliver/alert)
	Approval       = "approval#"        // Slack button references (slack/approval)
	InteractReplay = "interact#replay#" // signed Slack requests already seen
	IngestOutbox   = "ingest-outbox#"   // findings kept for a record until published (functions/ingest)
)

// Prefix is one user's partition-key prefix.
type Prefix struct {
	Value, Owner string
}

// Prefixes lists every user's prefix.
func Prefixes() []Prefix {
	return []Prefix{
		{Detect, "engine/detect"},
		{ContainAction, "engine/contain ledger"},
		{ContainLock, "engine/contain leases"},
		{ContainHolders, "engine/contain holders"},
		{ContainRate, "engine/contain rate limits"},
		{Alert, "deliver/alert dedup"},
		{Approval, "slack/approval"},
		{InteractReplay, "slack interaction replay cache"},
		{IngestOutbox, "functions/ingest outbox"},
	}
}
