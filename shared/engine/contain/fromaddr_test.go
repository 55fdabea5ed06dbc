package contain

import (
	"slices"
	"testing"
)

// TestFromAddressesOnlyMailboxes: tighten_identity_policy denies the From addresses of a finding;
// a value that is not exactly one mailbox once gave its last <…>, so
// "evil@bad.example <billing@mail.example.com>" made sesguard deny the approved sender (issue 23,
// part 1, the same class in containment).
func TestFromAddressesOnlyMailboxes(t *testing.T) {
	got := fromAddresses([]string{
		"evil@bad.example <billing@mail.example.com>",
		"<evil@bad.example> <billing@mail.example.com>",
		"x<billing@mail.example.com>@bad.example",
		"g: billing@mail.example.com;",
		"Ops <ops@mail.example.com>",
		"x@Mail.Example.com",
		"ops@mail.example.com",
		"nope",
	})
	if want := []string{"ops@mail.example.com", "x@Mail.Example.com"}; !slices.Equal(got, want) {
		t.Errorf("fromAddresses = %q, want %q", got, want)
	}
}
