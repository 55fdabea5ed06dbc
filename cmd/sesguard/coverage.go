package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/engine/coverage"
)

const coverageUsage = `usage: sesguard coverage [--region R] [--destination-prefix P] [--sentinels=false] [--format text|json]

Check that sesguard sees every send in the current account and Region (the same check the
coverage Lambda runs): every SES identity needs a default configuration set, and every
configuration set needs an enabled, live (EventBridge or SNS) event destination named P* that
publishes SEND, REJECT, BOUNCE, COMPLAINT and DELIVERY. A send without a configuration set
produces no events at all, and a sender may name any existing set, so every set counts.
AWS credentials and Region come from the standard SDK chain. Needs ses:ListEmailIdentities,
ses:GetEmailIdentity, ses:ListConfigurationSets, ses:GetConfigurationSetEventDestinations.

It also lists the Regions enabled in the account where SES is offered (ec2:DescribeRegions) and
reports each one, other than this Region (the home stack's), without a sesguard Region sentinel
(an enabled EventBridge rule described "sesguard sentinel: …", events:ListRules there) as a gap
coverage.region_no_sentinel; --sentinels=false skips that.

Exit status: 0 when everything is monitored, 2 when something is not, 1 on errors.

flags:
`

// runCoverage prints the coverage report.
func runCoverage(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "coverage", coverageUsage)
	prefix := fs.String("destination-prefix", coverage.DefaultDestinationPrefix, "name prefix of sesguard's event destinations")
	format := fs.String("format", "text", "output format: text or json")
	region := fs.String("region", "", "AWS Region to check (default: the SDK's, e.g. $AWS_REGION); SES is regional")
	sentinels := fs.Bool("sentinels", true, "also report enabled SES Regions without a sesguard Region sentinel")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "coverage: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "coverage: --format %q: want text or json\n", *format)
		return exitUsage
	}
	if *prefix == "" {
		fmt.Fprintln(e.stderr, "coverage: --destination-prefix must not be empty")
		return exitUsage
	}
	var loadOpts []func(*config.LoadOptions) error
	if *region != "" {
		loadOpts = append(loadOpts, config.WithRegion(*region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "coverage: AWS config: %v\n", err)
		return exitUsage
	}
	if cfg.Region == "" {
		fmt.Fprintln(e.stderr, "coverage: no AWS Region: give --region or set AWS_REGION (SES identities and configuration sets are per Region)")
		return exitUsage
	}
	rep, err := coverage.Check(ctx, sesv2.NewFromConfig(cfg), coverage.Options{DestinationPrefix: *prefix})
	if err != nil {
		fmt.Fprintf(e.stderr, "coverage: %v\n", err)
		return exitUsage
	}
	if *sentinels {
		rulesIn := func(r string) coverage.RuleLister {
			return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.Region = r })
		}
		regions, gaps, err := coverage.CheckRegions(ctx, ec2.NewFromConfig(cfg), rulesIn, cfg.Region)
		if err != nil {
			fmt.Fprintf(e.stderr, "coverage: %v (--sentinels=false skips the Region check)\n", err)
			return exitUsage
		}
		rep.Regions, rep.Gaps = regions, append(rep.Gaps, gaps...)
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = writeCoverageText(e.stdout, rep, cfg.Region)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "coverage: write: %v\n", err)
		return exitUsage
	}
	if !rep.Monitored() {
		return exitInput
	}
	return exitOK
}

func writeCoverageText(w io.Writer, rep *coverage.Report, region string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "IDENTITY\tTYPE\tDEFAULT SET\tMONITORED\n")
	for _, id := range rep.Identities {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id.Name, id.Type, dash(id.DefaultSet), yesNo(id.Monitored))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CONFIGURATION SET\tSESGUARD DESTINATIONS\tOTHER DESTINATIONS\tMONITORED\n")
	for _, cs := range rep.ConfigurationSets {
		var ours, other []string
		for _, d := range cs.Destinations {
			s := d.Name + "(" + d.Kind
			if !d.Enabled {
				s += ",disabled"
			}
			s += ")"
			if d.Ours {
				ours = append(ours, s)
			} else {
				other = append(other, s)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cs.Name, dash(strings.Join(ours, " ")), dash(strings.Join(other, " ")), yesNo(cs.Monitored))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Regions != nil {
		watched := 0
		for _, r := range rep.Regions {
			if r.Watched {
				watched++
			}
		}
		fmt.Fprintf(w, "\nRegions: %d enabled SES Region(s), %d watched (this Region's stack or a sentinel)\n", len(rep.Regions), watched)
	}
	if region != "" {
		region = " in " + region
	}
	if rep.Monitored() {
		_, err := fmt.Fprintf(w, "\nOK: %d identities and %d configuration sets%s are all monitored\n", len(rep.Identities), len(rep.ConfigurationSets), region)
		return err
	}
	fmt.Fprintf(w, "\n%d gap(s)%s:\n", len(rep.Gaps), region)
	for _, g := range rep.Gaps {
		subject := "identity " + g.Identity
		switch {
		case g.Region != "":
			subject = "Region " + g.Region
		case g.Identity == "":
			subject = "configuration set " + g.ConfigurationSet
		}
		fmt.Fprintf(w, "  %-42s %s: %s\n", g.Kind, subject, g.Detail)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
