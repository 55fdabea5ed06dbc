package awstest

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// The pinned SDK lists with POST .../list-*; the shim must answer it from moto, page by page.
func TestSESv2ListShim(t *testing.T) {
	m := Start(t)
	for _, s := range []string{"a", "b", "c"} {
		m.SeedConfigurationSet(t, s)
	}
	m.SeedIdentity(t, "mail.example.com", "")
	m.SeedIdentity(t, "ops@example.org", "")
	c := sesv2.NewFromConfig(m.Config(t))
	ctx := context.Background()
	var sets []string
	pages := 0
	for p := sesv2.NewListConfigurationSetsPaginator(c, &sesv2.ListConfigurationSetsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		sets = append(sets, out.ConfigurationSets...)
	}
	slices.Sort(sets)
	if !slices.Equal(sets, []string{"a", "b", "c"}) {
		t.Errorf("sets %v (in %d pages)", sets, pages)
	}
	out, err := c.ListEmailIdentities(ctx, &sesv2.ListEmailIdentitiesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range out.EmailIdentities {
		ids = append(ids, *id.IdentityName+"/"+string(id.IdentityType))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"mail.example.com/DOMAIN", "ops@example.org/EMAIL_ADDRESS"}) {
		t.Errorf("identities %v", ids)
	}
}
