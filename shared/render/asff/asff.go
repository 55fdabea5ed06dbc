// Package asff renders sesguard findings as AWS Security Finding Format (ASFF) for Security Hub
// CSPM's BatchImportFindings, and containment results as the BatchUpdateFindings change (Note and
// Workflow.Status) they imply. Pure: no I/O, deterministic for a given input, so redelivery of a
// finding re-imports the identical record.
package asff

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// ASFF constants and the limits Security Hub enforces (ASFF syntax reference).
const (
	SchemaVersion = "2018-10-08"
	CompanyName   = "sesguard"
	ProductName   = "sesguard"
	// MaxBatch is BatchImportFindings' and BatchUpdateFindings' per-call limit.
	MaxBatch       = 100
	MaxTitle       = 256
	MaxDescription = 1024
	MaxNote        = 512
	MaxResources   = 32
	// maxField caps every ProductFields value (Security Hub allows 2048) and resource id so a
	// hostile From list cannot push a finding towards the 240 KB limit.
	maxField = 512
)

// Product names who imports: Security Hub accepts a finding only from the account it belongs to
// (AwsAccountId), under that account's default product ARN in the region called.
type Product struct {
	Partition string // "aws" when empty
	Region    string
	Account   string
}

func (p Product) partition() string {
	if p.Partition == "" {
		return "aws"
	}
	return p.Partition
}

// ARN is the account's default product: arn:aws:securityhub:<region>:<account>:product/<account>/default.
func (p Product) ARN() string {
	return "arn:" + p.partition() + ":securityhub:" + p.Region + ":" + p.Account + ":product/" + p.Account + "/default"
}

// Validate names the missing part.
func (p Product) Validate() error {
	var errs []error
	if p.Region == "" {
		errs = append(errs, errors.New("asff: product region is empty"))
	}
	if len(p.Account) != 12 || strings.Trim(p.Account, "0123456789") != "" {
		errs = append(errs, fmt.Errorf("asff: product account %q is not a 12-digit account id", p.Account))
	}
	return errors.Join(errs...)
}

// Finding renders f. UpdatedAt is the finding's last_seen, so each count change (a later send in
// the window) is a newer UpdatedAt and a redelivery of the same state is the same record. Workflow
// and Note are never sent here: after creation BatchImportFindings ignores them (they belong to
// the analyst); Security Hub starts a new finding at Workflow.Status NEW. Severity and Types are set
// in FindingProviderFields (the provider's channel for updates) and, for new findings, top level.
func Finding(f *finding.Finding, p Product) (types.AwsSecurityFinding, error) {
	if err := p.Validate(); err != nil {
		return types.AwsSecurityFinding{}, err
	}
	if f == nil {
		return types.AwsSecurityFinding{}, errors.New("asff: nil finding")
	}
	// Checked after cleaning: an id or rule of only invisible characters is empty to Security Hub.
	id, rule := sanitize.Clean(f.ID, maxField), sanitize.Clean(f.Rule, maxField)
	if !nonEmptyString(id) {
		return types.AwsSecurityFinding{}, fmt.Errorf("asff: finding has no id (%q)", clipQuote(f.ID))
	}
	if !nonEmptyString(rule) {
		return types.AwsSecurityFinding{}, fmt.Errorf("asff: finding %s has no rule", id)
	}
	account := f.Account
	if account == "" {
		account = p.Account
	}
	region := f.Region
	if region == "" {
		region = p.Region
	}
	created, updated, err := times(f)
	if err != nil {
		return types.AwsSecurityFinding{}, err
	}
	label := Severity(f.Severity)
	typ := []string{FindingType(f.Rule)}
	out := types.AwsSecurityFinding{
		SchemaVersion: aws.String(SchemaVersion),
		Id:            aws.String(id),
		ProductArn:    aws.String(p.ARN()),
		GeneratorId:   aws.String(rule),
		AwsAccountId:  aws.String(account),
		Region:        aws.String(region),
		CompanyName:   aws.String(CompanyName),
		ProductName:   aws.String(ProductName),
		CreatedAt:     aws.String(stamp(created)),
		UpdatedAt:     aws.String(stamp(updated)),
		Title:         aws.String(Title(f)),
		Description:   aws.String(Description(f)),
		Types:         typ,
		// Original is omitted when the finding has no severity: the model requires a NonEmptyString.
		Severity: &types.Severity{Label: label, Original: nonEmpty(string(f.Severity), 64)},
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: label, Original: nonEmpty(string(f.Severity), 64)},
			Types:    typ,
		},
		Resources:     Resources(f, Product{Partition: p.Partition, Region: region, Account: account}),
		ProductFields: productFields(f),
		RecordState:   types.RecordStateActive,
	}
	if !f.Evidence.FirstSeen.IsZero() {
		out.FirstObservedAt = aws.String(stamp(f.Evidence.FirstSeen))
	}
	if !f.Evidence.LastSeen.IsZero() {
		out.LastObservedAt = aws.String(stamp(f.Evidence.LastSeen))
	}
	if ip, err := netip.ParseAddr(f.SourceIP); err == nil {
		// The send request came from this address into the SES API: inbound to the account.
		n := &types.Network{Direction: types.NetworkDirectionIn}
		if ip.Unmap().Is4() {
			n.SourceIpV4 = aws.String(ip.Unmap().String())
		} else {
			n.SourceIpV6 = aws.String(ip.String())
		}
		out.Network = n
	}
	if err := Check(out); err != nil {
		return types.AwsSecurityFinding{}, fmt.Errorf("asff: finding %s: %w", id, err)
	}
	return out, nil
}

// nonEmpty is s cleaned and clipped, or nil when nothing visible is left (optional fields).
func nonEmpty(s string, limit int) *string {
	if c := sanitize.Clean(s, limit); nonEmptyString(c) {
		return aws.String(c)
	}
	return nil
}

// times picks CreatedAt (first_seen, else the window start) and UpdatedAt (last_seen, never before
// CreatedAt). A finding with neither is rejected: Security Hub requires both.
func times(f *finding.Finding) (time.Time, time.Time, error) {
	created := f.Evidence.FirstSeen
	if created.IsZero() {
		created = f.WindowStart
	}
	if created.IsZero() {
		return time.Time{}, time.Time{}, fmt.Errorf("asff: finding %s has neither evidence.first_seen nor window_start", f.ID)
	}
	updated := f.Evidence.LastSeen
	if updated.Before(created) {
		updated = created
	}
	return created, updated, nil
}

// stamp is the ISO 8601 form Security Hub stores (UTC, millisecond precision, so it round-trips).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Severity maps sesguard's severity to the ASFF label. An unknown severity is MEDIUM, never
// INFORMATIONAL: a finding sesguard cannot rank is shown, not buried (alerting does the same).
func Severity(s finding.Severity) types.SeverityLabel {
	switch s {
	case finding.SeverityLow:
		return types.SeverityLabelLow
	case finding.SeverityMedium:
		return types.SeverityLabelMedium
	case finding.SeverityHigh:
		return types.SeverityLabelHigh
	case finding.SeverityCritical:
		return types.SeverityLabelCritical
	}
	return types.SeverityLabelMedium
}

// FindingType is the ASFF namespace/category/classifier of a rule: coverage gaps are
// configuration checks, everything else is unusual sending behaviour.
func FindingType(rule string) string {
	family, _, _ := strings.Cut(rule, ".")
	classifier := sanitize.Clean(rule, 128)
	switch family {
	case "coverage":
		return "Software and Configuration Checks/AWS Security Best Practices/" + classifier
	case "network":
		return "Unusual Behaviors/Network Flow/" + classifier
	case "sender", "attribution":
		return "Unusual Behaviors/User/" + classifier
	case "volume", "reputation":
		return "Effects/Resource Consumption/" + classifier
	}
	return "Unusual Behaviors/Application/" + classifier
}

// Title is the rule's human title and the principal.
func Title(f *finding.Finding) string {
	t := rules.Title(f.Rule)
	if name := principalName(f.Principal); name != "" {
		t += " by " + name
	}
	return sanitize.Clean(t, MaxTitle)
}

func principalName(p finding.Principal) string {
	switch {
	case p.Name != "":
		return p.Name
	case p.ARN != "":
		return p.ARN
	}
	return ""
}

// Description says what was seen, in one paragraph.
func Description(f *finding.Finding) string {
	var b strings.Builder
	if f.Evidence.Detail != "" {
		b.WriteString(f.Evidence.Detail)
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "%d send(s)", f.Evidence.Count)
	if !f.Evidence.FirstSeen.IsZero() {
		fmt.Fprintf(&b, " between %s and %s", f.Evidence.FirstSeen.UTC().Format(time.RFC3339), f.Evidence.LastSeen.UTC().Format(time.RFC3339))
	}
	kind := string(f.Principal.Kind)
	if kind == "" {
		kind = string(finding.KindUnknown)
	}
	fmt.Fprintf(&b, "; principal %s (%s)", orUnknown(principalName(f.Principal)), kind)
	if f.SourceIP != "" {
		fmt.Fprintf(&b, "; source IP %s", f.SourceIP)
	}
	if f.Evidence.Identity != "" {
		fmt.Fprintf(&b, "; identity %s", f.Evidence.Identity)
	}
	if f.Evidence.ConfigurationSet != "" {
		fmt.Fprintf(&b, "; configuration set %s", f.Evidence.ConfigurationSet)
	}
	mode := f.Mode
	if mode == "" {
		mode = "dry-run"
	}
	if len(f.Actions) > 0 {
		fmt.Fprintf(&b, "; response (%s): %s", mode, strings.Join(f.Actions, ", "))
	}
	b.WriteString(".")
	return sanitize.Clean(b.String(), MaxDescription)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Resources are what the finding is about: the IAM principal, its access key, the SES identity
// and configuration set. A finding naming none of them (an unattributed send) is about the account.
func Resources(f *finding.Finding, p Product) []types.Resource {
	var out []types.Resource
	part := p.partition()
	pr := f.Principal
	// Every value is cleaned first and used only if something visible is left (NonEmptyString).
	name := nonEmpty(pr.Name, maxField)
	principalType := ""
	switch {
	case pr.Kind == finding.KindUser && iamARN(pr, part, p.Account, "user") != "":
		principalType = "IAMUser"
		out = append(out, types.Resource{Type: aws.String("AwsIamUser"), Id: aws.String(iamARN(pr, part, p.Account, "user")), Partition: types.Partition(part), Region: aws.String(p.Region)})
	case pr.Kind == finding.KindRole && iamARN(pr, part, p.Account, "role") != "":
		principalType = "AssumedRole"
		out = append(out, types.Resource{Type: aws.String("AwsIamRole"), Id: aws.String(iamARN(pr, part, p.Account, "role")), Partition: types.Partition(part), Region: aws.String(p.Region)})
	case pr.Kind == finding.KindRoot:
		principalType = "Root"
	}
	if key := nonEmpty(pr.AccessKeyID, 128); key != nil {
		d := &types.AwsIamAccessKeyDetails{AccessKeyId: key, AccountId: aws.String(p.Account), PrincipalName: name}
		if principalType != "" {
			d.PrincipalType = aws.String(principalType)
		}
		out = append(out, types.Resource{Type: aws.String("AwsIamAccessKey"), Id: key,
			Partition: types.Partition(part), Region: aws.String(p.Region), Details: &types.ResourceDetails{AwsIamAccessKey: d}})
	}
	if id := nonEmpty(f.Evidence.Identity, 256); id != nil {
		out = append(out, sesResource(part, p, "identity", *id))
	}
	if cs := nonEmpty(f.Evidence.ConfigurationSet, 256); cs != nil {
		out = append(out, sesResource(part, p, "configuration-set", *cs))
	}
	if len(out) == 0 {
		out = append(out, types.Resource{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:" + p.Account), Partition: types.Partition(part), Region: aws.String(p.Region)})
	}
	if len(out) > MaxResources {
		out = out[:MaxResources]
	}
	return out
}

// iamARN is the principal's ARN, or one built from its name when attribution gave only a name;
// "" when neither has anything visible left after cleaning.
func iamARN(pr finding.Principal, partition, account, kind string) string {
	if arn := nonEmpty(pr.ARN, maxField); arn != nil {
		return *arn
	}
	if name := nonEmpty(pr.Name, maxField); name != nil {
		return sanitize.Clean("arn:"+partition+":iam::"+account+":"+kind+"/"+*name, maxField)
	}
	return ""
}

// sesResource is an SES identity or configuration set: ASFF has no SES resource type, so "Other"
// with the resource's ARN as Id.
func sesResource(partition string, p Product, kind, name string) types.Resource {
	name = sanitize.Clean(name, 256)
	return types.Resource{
		Type:      aws.String("Other"),
		Id:        aws.String("arn:" + partition + ":ses:" + p.Region + ":" + p.Account + ":" + kind + "/" + name),
		Partition: types.Partition(partition),
		Region:    aws.String(p.Region),
		Details:   &types.ResourceDetails{Other: map[string]string{"Service": "ses", "ResourceType": kind, "Name": name}},
	}
}

// ProductFields keys; sesguard's own namespace, so nothing collides with aws/securityhub/*.
const (
	FieldSchema        = "sesguard/schema"
	FieldRule          = "sesguard/rule"
	FieldMode          = "sesguard/mode"
	FieldCount         = "sesguard/count"
	FieldWindowStart   = "sesguard/window_start"
	FieldWindowEnd     = "sesguard/window_end"
	FieldPrincipalKind = "sesguard/principal_kind"
	FieldSourceIP      = "sesguard/source_ip"
	FieldActions       = "sesguard/actions"
	FieldFrom          = "sesguard/from"
	FieldMessageIDs    = "sesguard/message_ids"
)

func productFields(f *finding.Finding) map[string]string {
	m := map[string]string{
		FieldRule:  sanitize.Clean(f.Rule, maxField),
		FieldCount: strconv.FormatInt(f.Evidence.Count, 10),
	}
	set := func(k, v string) {
		if c := nonEmpty(v, maxField); c != nil {
			m[k] = *c
		}
	}
	set(FieldSchema, f.Schema)
	set(FieldMode, f.Mode)
	if !f.WindowStart.IsZero() {
		set(FieldWindowStart, f.WindowStart.UTC().Format(time.RFC3339))
	}
	if !f.WindowEnd.IsZero() {
		set(FieldWindowEnd, f.WindowEnd.UTC().Format(time.RFC3339))
	}
	set(FieldPrincipalKind, string(f.Principal.Kind))
	set(FieldSourceIP, f.SourceIP)
	set(FieldActions, strings.Join(f.Actions, ","))
	set(FieldFrom, strings.Join(cleanAll(f.Evidence.From, 128), ", "))
	set(FieldMessageIDs, strings.Join(cleanAll(f.Evidence.MessageIDs, 128), ","))
	return m
}

func cleanAll(in []string, limit int) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if c := nonEmpty(s, limit); c != nil {
			out = append(out, *c)
		}
	}
	return out
}
