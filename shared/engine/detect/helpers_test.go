package detect

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func examplePolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadPolicy(t testing.TB, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// goodSend is a Send the example policy approves on every axis.
func goodSend(i int) sesevent.Event {
	return sesevent.Event{
		Type:             sesevent.TypeSend,
		MessageID:        fmt.Sprintf("0100019a-good-%06d", i),
		MailTime:         t0.Add(time.Duration(i) * time.Millisecond),
		EventTime:        t0.Add(time.Duration(i) * time.Millisecond),
		Account:          "111122223333",
		Region:           "eu-west-1",
		CallerIdentity:   "ses-smtp-user.20260112-101500",
		SourceIP:         netip.MustParseAddr("10.20.3.4"),
		Operation:        "SendRawEmail",
		ConfigurationSet: "prod-outbound",
		IdentityArn:      "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com",
		Identity:         "mail.example.com",
		Source:           "billing@mail.example.com",
		From:             []sesevent.Address{{Name: "Billing", Address: "billing@mail.example.com"}},
		FromDomain:       "mail.example.com",
		Recipients:       []string{"customer@example.org"},
		Subject:          "Your invoice",
	}
}

func with(e sesevent.Event, f func(*sesevent.Event)) sesevent.Event {
	f(&e)
	return e
}

func bounceOf(send sesevent.Event, typ string, after time.Duration) sesevent.Event {
	b := send
	b.Type = sesevent.TypeBounce
	b.EventTime = send.MailTime.Add(after)
	b.Bounce = &sesevent.BounceDetail{Type: typ, SubType: "General", Recipients: send.Recipients}
	return b
}

func complaintOf(send sesevent.Event, after time.Duration) sesevent.Event {
	c := send
	c.Type = sesevent.TypeComplaint
	c.EventTime = send.MailTime.Add(after)
	c.Complaint = &sesevent.ComplaintDetail{FeedbackType: "abuse", Recipients: send.Recipients}
	return c
}
