package detect

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// TestEvidenceListsEveryRegionAndIdentity: a finding that aggregates calls or sends across
// Regions and SES identities lists all of them, not only the first (issue 19 item 6); a finding
// with one of each lists none (Region and Identity say it).
func TestEvidenceListsEveryRegionAndIdentity(t *testing.T) {
	ctx := context.Background()
	d := newDetector(t, examplePolicy(t), NewMemoryState())
	var calls []cloudtrail.Event
	for i, r := range []string{"eu-west-1", "us-east-1", "ap-south-1", "us-east-1"} {
		c := leaked(goodCall(i))
		c.Region = r
		calls = append(calls, c)
	}
	calls[2].EventName = "GetAccount"
	b, err := d.ProcessCalls(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	// The same key in three Regions within minutes is also playbook.multi_region (issue 20).
	byRule := map[string]finding.Finding{}
	for _, u := range b.Updates {
		byRule[u.Finding.Rule] = u.Finding
	}
	if len(b.Updates) != 2 || !strings.Contains(byRule[rules.PlaybookMultiRegion].Evidence.Detail, "3 Regions") {
		t.Fatalf("updates %+v", b.Updates)
	}
	f := byRule[rules.APIOutsideApproved]
	if f.Rule != rules.APIOutsideApproved || f.Region != "eu-west-1" ||
		!slices.Equal(f.Evidence.Regions, []string{"eu-west-1", "us-east-1", "ap-south-1"}) ||
		!slices.Equal(f.Evidence.EventNames, []string{"GetSendQuota", "GetAccount"}) ||
		!strings.Contains(f.Evidence.Detail, "[Regions: eu-west-1, us-east-1, ap-south-1]") {
		t.Errorf("API finding evidence %+v", f.Evidence)
	}

	d = newDetector(t, examplePolicy(t), NewMemoryState())
	bad := func(i int, region, identity string) sesevent.Event {
		return with(goodSend(i), func(e *sesevent.Event) {
			e.SourceIP = leaked(goodCall(0)).SourceIP
			e.Region, e.Identity = region, identity
		})
	}
	b, err = d.Process(ctx, []sesevent.Event{bad(1, "eu-west-1", "mail.example.com"), bad(2, "eu-central-1", "promo.example"), bad(3, "eu-west-1", "mail.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, u := range b.Updates {
		if u.Finding.Rule != rules.NetworkOutsideApproved {
			continue
		}
		found = true
		ev := u.Finding.Evidence
		if !slices.Equal(ev.Regions, []string{"eu-west-1", "eu-central-1"}) || !slices.Equal(ev.Identities, []string{"mail.example.com", "promo.example"}) || ev.Principals != nil {
			t.Errorf("send finding evidence regions %v identities %v principals %v", ev.Regions, ev.Identities, ev.Principals)
		}
	}
	if !found {
		t.Fatalf("no network.outside_approved finding: %+v", b.Updates)
	}

	d = newDetector(t, examplePolicy(t), NewMemoryState())
	b, err = d.Process(ctx, []sesevent.Event{bad(1, "eu-west-1", "mail.example.com")})
	if err != nil || len(b.Updates) == 0 {
		t.Fatal(err)
	}
	for _, u := range b.Updates {
		if ev := u.Finding.Evidence; ev.Regions != nil || ev.Identities != nil || ev.Principals != nil {
			t.Errorf("%s: single-valued evidence lists %v %v %v", u.Finding.Rule, ev.Regions, ev.Identities, ev.Principals)
		}
	}
}
