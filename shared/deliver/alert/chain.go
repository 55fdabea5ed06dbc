package alert

import (
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// chainText renders the earlier steps of a finding's incident, oldest first, as one line:
// "validated 09:31, recon in 6 Regions 09:33, identity created 09:40" (UTC).
func chainText(steps []finding.Step) string {
	parts := make([]string, 0, len(steps))
	for _, s := range steps {
		parts = append(parts, s.Summary+" "+s.Time.UTC().Format("15:04"))
	}
	return strings.Join(parts, ", ")
}
