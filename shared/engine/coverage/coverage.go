// Package coverage checks that sesguard sees every send: each SES identity needs a default
// configuration set, and each configuration set needs a live sesguard event destination (a send
// with no configuration set produces no events at all, and a sender may name any existing set).
// The CLI `coverage` command and the coverage Lambda share it.
package coverage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// SESAPI is the read-only part of the SESv2 client the check uses (the coverage Lambda's role
// grants exactly these).
type SESAPI interface {
	sesv2.ListEmailIdentitiesAPIClient
	sesv2.ListConfigurationSetsAPIClient
	GetEmailIdentity(ctx context.Context, in *sesv2.GetEmailIdentityInput, optFns ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityOutput, error)
	GetConfigurationSetEventDestinations(ctx context.Context, in *sesv2.GetConfigurationSetEventDestinationsInput, optFns ...func(*sesv2.Options)) (*sesv2.GetConfigurationSetEventDestinationsOutput, error)
}

var _ SESAPI = (*sesv2.Client)(nil)

// DefaultDestinationPrefix is how sesguard's event destinations are named: the CDK app creates
// "sesguard-eventbridge", "sesguard-sns" and "sesguard-archive" on each monitored set.
const DefaultDestinationPrefix = "sesguard-"

// DefaultRequiredTypes are the event types a live destination must publish for detection: Send
// carries attribution; Reject, Bounce, Complaint and Delivery feed the outcome and rate rules.
func DefaultRequiredTypes() []types.EventType {
	return []types.EventType{types.EventTypeSend, types.EventTypeReject, types.EventTypeBounce,
		types.EventTypeComplaint, types.EventTypeDelivery}
}

// Gap kinds. They double as the rule names of coverage findings.
const (
	GapIdentityNoDefaultSet    = "coverage.identity_no_default_set"      // sends without an explicit set produce no events
	GapIdentityDefaultMissing  = "coverage.identity_default_set_missing" // default set was deleted: sends fail
	GapIdentityDefaultUnwatch  = "coverage.identity_default_set_unmonitored"
	GapSetNoDestination        = "coverage.set_unmonitored"          // no sesguard destination
	GapSetDestinationsDisabled = "coverage.set_destination_disabled" // sesguard destinations exist, none enabled
	GapSetNotLive              = "coverage.set_not_live"             // only the archive (Firehose): no live detection
	GapSetMissingTypes         = "coverage.set_missing_event_types"  // live destination lacks required types
)

// Gap is one unmonitored identity or configuration set.
type Gap struct {
	Kind             string `json:"kind"`
	Identity         string `json:"identity,omitempty"`
	ConfigurationSet string `json:"configuration_set,omitempty"`
	// Region is set for a Region gap (GapRegionNoSentinel).
	Region string `json:"region,omitempty"`
	Detail string `json:"detail"`
}

// Identity is an SES identity and its default configuration set.
type Identity struct {
	Name       string `json:"name"`
	Type       string `json:"type"` // EMAIL_ADDRESS | DOMAIN | MANAGED_DOMAIN
	DefaultSet string `json:"default_configuration_set,omitempty"`
	Monitored  bool   `json:"monitored"`
}

// Destination is one event destination of a configuration set.
type Destination struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"` // eventbridge | sns | firehose | cloudwatch | pinpoint | unknown
	Enabled bool     `json:"enabled"`
	Types   []string `json:"event_types"`
	Ours    bool     `json:"sesguard"` // name has the sesguard prefix
}

// ConfigurationSet is a set with its destinations and verdict.
type ConfigurationSet struct {
	Name         string        `json:"name"`
	Destinations []Destination `json:"destinations"`
	Monitored    bool          `json:"monitored"`
}

// Report is the outcome of Check.
type Report struct {
	Identities        []Identity         `json:"identities"`
	ConfigurationSets []ConfigurationSet `json:"configuration_sets"`
	Gaps              []Gap              `json:"gaps"`
	// Regions are the enabled SES Regions and their sentinels (nil when not checked).
	Regions []RegionStatus `json:"regions,omitempty"`
}

// Monitored reports whether nothing is uncovered.
func (r *Report) Monitored() bool { return len(r.Gaps) == 0 }

// Options tunes Check.
type Options struct {
	// DestinationPrefix names sesguard's destinations (default DefaultDestinationPrefix).
	DestinationPrefix string
	// RequiredTypes a live destination must publish (default DefaultRequiredTypes).
	RequiredTypes []types.EventType
	// PageSize for the list calls (0: service default).
	PageSize int32
}

// Check lists every identity and configuration set (paginated) and reports what sesguard does
// not see. Errors from SES abort the check: a partial answer would under-report gaps.
func Check(ctx context.Context, api SESAPI, opt Options) (*Report, error) {
	if opt.DestinationPrefix == "" {
		opt.DestinationPrefix = DefaultDestinationPrefix
	}
	if len(opt.RequiredTypes) == 0 {
		opt.RequiredTypes = DefaultRequiredTypes()
	}
	var page *int32
	if opt.PageSize > 0 {
		page = aws.Int32(opt.PageSize)
	}
	rep := &Report{Identities: []Identity{}, ConfigurationSets: []ConfigurationSet{}, Gaps: []Gap{}}

	// Configuration sets first: identities are judged by their default set's verdict.
	var setNames []string
	for p := sesv2.NewListConfigurationSetsPaginator(api, &sesv2.ListConfigurationSetsInput{PageSize: page}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list configuration sets: %w", err)
		}
		setNames = append(setNames, out.ConfigurationSets...)
	}
	sort.Strings(setNames)
	monitored := map[string]bool{}
	for _, name := range setNames {
		cs, gaps, err := checkSet(ctx, api, name, opt)
		if err != nil {
			return nil, err
		}
		monitored[name] = cs.Monitored
		rep.ConfigurationSets = append(rep.ConfigurationSets, cs)
		rep.Gaps = append(rep.Gaps, gaps...)
	}

	var ids []types.IdentityInfo
	for p := sesv2.NewListEmailIdentitiesPaginator(api, &sesv2.ListEmailIdentitiesInput{PageSize: page}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list email identities: %w", err)
		}
		ids = append(ids, out.EmailIdentities...)
	}
	sort.Slice(ids, func(i, j int) bool { return aws.ToString(ids[i].IdentityName) < aws.ToString(ids[j].IdentityName) })
	for _, info := range ids {
		name := aws.ToString(info.IdentityName)
		out, err := api.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(name)})
		if err != nil {
			var nf *types.NotFoundException
			if errors.As(err, &nf) {
				continue // deleted between the list and the get
			}
			return nil, fmt.Errorf("get email identity %s: %w", name, err)
		}
		id := Identity{Name: name, Type: string(info.IdentityType), DefaultSet: aws.ToString(out.ConfigurationSetName)}
		exists := slices.Contains(setNames, id.DefaultSet)
		switch {
		case id.DefaultSet == "":
			rep.Gaps = append(rep.Gaps, Gap{Kind: GapIdentityNoDefaultSet, Identity: name,
				Detail: "no default configuration set: sends that name no set produce no events"})
		case !exists:
			rep.Gaps = append(rep.Gaps, Gap{Kind: GapIdentityDefaultMissing, Identity: name, ConfigurationSet: id.DefaultSet,
				Detail: fmt.Sprintf("default configuration set %q does not exist: sends from this identity fail", id.DefaultSet)})
		case !monitored[id.DefaultSet]:
			rep.Gaps = append(rep.Gaps, Gap{Kind: GapIdentityDefaultUnwatch, Identity: name, ConfigurationSet: id.DefaultSet,
				Detail: fmt.Sprintf("default configuration set %q is not monitored by sesguard", id.DefaultSet)})
		default:
			id.Monitored = true
		}
		rep.Identities = append(rep.Identities, id)
	}
	return rep, nil
}

func checkSet(ctx context.Context, api SESAPI, name string, opt Options) (ConfigurationSet, []Gap, error) {
	cs := ConfigurationSet{Name: name, Destinations: []Destination{}}
	out, err := api.GetConfigurationSetEventDestinations(ctx, &sesv2.GetConfigurationSetEventDestinationsInput{ConfigurationSetName: aws.String(name)})
	if err != nil {
		return cs, nil, fmt.Errorf("event destinations of configuration set %s: %w", name, err)
	}
	var ours, enabled, live int
	have := map[types.EventType]bool{}
	for _, d := range out.EventDestinations {
		dest := Destination{Name: aws.ToString(d.Name), Kind: destKind(d), Enabled: d.Enabled,
			Ours: strings.HasPrefix(aws.ToString(d.Name), opt.DestinationPrefix)}
		for _, t := range d.MatchingEventTypes {
			dest.Types = append(dest.Types, string(t))
		}
		cs.Destinations = append(cs.Destinations, dest)
		if !dest.Ours {
			continue
		}
		ours++
		if !dest.Enabled {
			continue
		}
		enabled++
		if dest.Kind == "eventbridge" || dest.Kind == "sns" {
			live++
			for _, t := range d.MatchingEventTypes {
				have[t] = true
			}
		}
	}
	var missing []string
	for _, t := range opt.RequiredTypes {
		if !have[t] {
			missing = append(missing, string(t))
		}
	}
	gap := func(kind, detail string) []Gap {
		return []Gap{{Kind: kind, ConfigurationSet: name, Detail: detail}}
	}
	switch {
	case ours == 0:
		return cs, gap(GapSetNoDestination, fmt.Sprintf("no event destination named %s*: sends using this set are invisible to sesguard", opt.DestinationPrefix)), nil
	case enabled == 0:
		return cs, gap(GapSetDestinationsDisabled, "sesguard event destinations exist but all are disabled"), nil
	case live == 0:
		return cs, gap(GapSetNotLive, "only an archive (Firehose) sesguard destination: events are stored but nothing detects in real time"), nil
	case len(missing) > 0:
		return cs, gap(GapSetMissingTypes, "live sesguard destinations do not publish "+strings.Join(missing, ", ")), nil
	}
	cs.Monitored = true
	return cs, nil, nil
}

func destKind(d types.EventDestination) string {
	switch {
	case d.EventBridgeDestination != nil:
		return "eventbridge"
	case d.SnsDestination != nil:
		return "sns"
	case d.KinesisFirehoseDestination != nil:
		return "firehose"
	case d.CloudWatchDestination != nil:
		return "cloudwatch"
	case d.PinpointDestination != nil:
		return "pinpoint"
	}
	return "unknown"
}
