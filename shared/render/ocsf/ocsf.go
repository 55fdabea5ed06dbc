// Package ocsf renders sesguard findings and containment results as OCSF Detection Finding
// events (class 2004, schema 1.1.0), the format of the new Security Hub and of Security Lake custom
// sources. Pure: no I/O, deterministic.
package ocsf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/core/sanitize"
	"github.com/sesguard/sesguard/shared/render/asff"
)

// OCSF identifiers this package emits.
const (
	Version      = "1.1.0"
	ClassUID     = 2004
	ClassName    = "Detection Finding"
	CategoryUID  = 2
	CategoryName = "Findings"

	ActivityCreate = 1
	ActivityUpdate = 2

	StatusNew        = 1
	StatusInProgress = 2
	StatusResolved   = 4
)

// DetectionFinding is the subset of the class sesguard fills.
type DetectionFinding struct {
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	// Time is the event time in epoch milliseconds (OCSF timestamp_t).
	Time       int64       `json:"time"`
	StartTime  int64       `json:"start_time,omitempty"`
	EndTime    int64       `json:"end_time,omitempty"`
	Count      int64       `json:"count,omitempty"`
	SeverityID int         `json:"severity_id"`
	Severity   string      `json:"severity"`
	StatusID   int         `json:"status_id"`
	Status     string      `json:"status"`
	Message    string      `json:"message"`
	Comment    string      `json:"comment,omitempty"`
	Metadata   Metadata    `json:"metadata"`
	Info       FindingInfo `json:"finding_info"`
	Cloud      Cloud       `json:"cloud"`
	Resources  []Resource  `json:"resources,omitempty"`
	Evidences  []Evidence  `json:"evidences,omitempty"`
	Unmapped   Unmapped    `json:"unmapped"`
}

// Metadata names the product and schema version.
type Metadata struct {
	Version  string   `json:"version"`
	Product  Product  `json:"product"`
	UID      string   `json:"uid,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
}

// Product is sesguard.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

// FindingInfo identifies the finding across updates.
type FindingInfo struct {
	UID           string    `json:"uid"`
	Title         string    `json:"title"`
	Desc          string    `json:"desc,omitempty"`
	Types         []string  `json:"types,omitempty"`
	CreatedTime   int64     `json:"created_time,omitempty"`
	ModifiedTime  int64     `json:"modified_time,omitempty"`
	FirstSeenTime int64     `json:"first_seen_time,omitempty"`
	LastSeenTime  int64     `json:"last_seen_time,omitempty"`
	Analytic      *Analytic `json:"analytic,omitempty"`
}

// Analytic is the detection rule.
type Analytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// Cloud is the AWS account and region (the cloud profile).
type Cloud struct {
	Provider string  `json:"provider"`
	Region   string  `json:"region,omitempty"`
	Account  Account `json:"account"`
}

// Account is an AWS account.
type Account struct {
	UID    string `json:"uid"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// Resource is an affected resource (principal, key, identity, configuration set).
type Resource struct {
	UID  string `json:"uid"`
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// Evidence is who sent and from where.
type Evidence struct {
	Actor       *Actor    `json:"actor,omitempty"`
	SrcEndpoint *Endpoint `json:"src_endpoint,omitempty"`
}

// Actor is the sending principal.
type Actor struct {
	User User `json:"user"`
}

// User is an IAM principal. TypeID is the schema's enum (0 Unknown, 1 User, 2 Admin, 99 Other)
// and Type its caption, or for Other the source's own type.
type User struct {
	Name          string `json:"name,omitempty"`
	UID           string `json:"uid,omitempty"`
	TypeID        int    `json:"type_id"`
	Type          string `json:"type,omitempty"`
	CredentialUID string `json:"credential_uid,omitempty"`
}

// Endpoint is a network endpoint. IP is an ip_t: at most 40 characters, without an IPv6 zone.
type Endpoint struct {
	IP string `json:"ip"`
}

// Unmapped carries the sesguard fields OCSF has no attribute for.
type Unmapped struct {
	Schema           string   `json:"schema"`
	Rule             string   `json:"rule"`
	Mode             string   `json:"mode,omitempty"`
	Actions          []string `json:"actions,omitempty"`
	From             []string `json:"from,omitempty"`
	MessageIDs       []string `json:"message_ids,omitempty"`
	Identity         string   `json:"identity,omitempty"`
	ConfigurationSet string   `json:"configuration_set,omitempty"`
	Outcomes         []string `json:"outcomes,omitempty"`
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func severity(s finding.Severity) (int, string) {
	switch s {
	case finding.SeverityLow:
		return 2, "Low"
	case finding.SeverityMedium:
		return 3, "Medium"
	case finding.SeverityHigh:
		return 4, "High"
	case finding.SeverityCritical:
		return 5, "Critical"
	}
	return 0, "Unknown"
}

func base(activity int, sev finding.Severity) DetectionFinding {
	sid, sname := severity(sev)
	name := "Create"
	if activity == ActivityUpdate {
		name = "Update"
	}
	return DetectionFinding{
		ClassUID: ClassUID, ClassName: ClassName, CategoryUID: CategoryUID, CategoryName: CategoryName,
		ActivityID: activity, ActivityName: name, TypeUID: ClassUID*100 + activity, TypeName: ClassName + ": " + name,
		SeverityID: sid, Severity: sname, StatusID: StatusNew, Status: "New",
		Metadata: Metadata{Version: Version, Product: Product{Name: "sesguard", VendorName: "sesguard"}, Profiles: []string{"cloud"}},
	}
}

// Finding renders f as activity ActivityCreate (the finding's first emission) or ActivityUpdate
// (a later count change: a later time and last_seen_time under the same finding_info.uid). The
// caller knows which (detect.Update.New); the finding itself does not say.
func Finding(f *finding.Finding, activity int) (DetectionFinding, error) {
	if activity != ActivityCreate && activity != ActivityUpdate {
		return DetectionFinding{}, fmt.Errorf("ocsf: activity %d is neither Create (1) nor Update (2)", activity)
	}
	if f == nil || strings.TrimSpace(f.ID) == "" {
		return DetectionFinding{}, errors.New("ocsf: finding has no id")
	}
	if strings.TrimSpace(f.Rule) == "" {
		return DetectionFinding{}, fmt.Errorf("ocsf: finding %s has no rule", f.ID)
	}
	t := f.Evidence.LastSeen
	if t.IsZero() {
		t = f.WindowStart
	}
	if t.IsZero() {
		return DetectionFinding{}, fmt.Errorf("ocsf: finding %s has neither evidence.last_seen nor window_start", f.ID)
	}
	d := base(activity, f.Severity)
	d.Time, d.StartTime, d.EndTime, d.Count = ms(t), ms(f.Evidence.FirstSeen), ms(f.Evidence.LastSeen), f.Evidence.Count
	d.Message = asff.Title(f)
	d.Metadata.UID = eventUID(f.ID, activity, d.Time, fmt.Sprint(f.Evidence.Count))
	d.Info = FindingInfo{
		UID: sanitize.Clean(f.ID, 512), Title: asff.Title(f), Desc: asff.Description(f), Types: []string{asff.FindingType(f.Rule)},
		CreatedTime: ms(first(f.Evidence.FirstSeen, f.WindowStart)), ModifiedTime: ms(t),
		FirstSeenTime: ms(f.Evidence.FirstSeen), LastSeenTime: ms(f.Evidence.LastSeen),
		Analytic: &Analytic{UID: sanitize.Clean(f.Rule, 256), Name: sanitize.Clean(rules.Title(f.Rule), 256), TypeID: 1, Type: "Rule"},
	}
	d.Cloud = cloud(f.Account, f.Region)
	d.Resources = resources(asffProduct(f.Account, f.Region), f)
	d.Evidences = evidences(f.Principal, f.SourceIP)
	d.Unmapped = Unmapped{
		Schema: f.Schema, Rule: sanitize.Clean(f.Rule, 256), Mode: sanitize.Clean(f.Mode, 32), Actions: cleanAll(f.Actions, 64),
		From: cleanAll(f.Evidence.From, 256), MessageIDs: cleanAll(f.Evidence.MessageIDs, 256),
		Identity: sanitize.Clean(f.Evidence.Identity, 256), ConfigurationSet: sanitize.Clean(f.Evidence.ConfigurationSet, 256),
	}
	return d, nil
}

// Result renders a containment result as an Update of its finding: status follows the same
// decision as Security Hub's workflow (asff.Workflow): In Progress once contained, Resolved after
// restore, New otherwise; comment is the containment note.
func Result(r *finding.Result) (DetectionFinding, error) {
	if r == nil || strings.TrimSpace(r.FindingID) == "" {
		return DetectionFinding{}, errors.New("ocsf: containment result has no finding_id")
	}
	if r.Time.IsZero() {
		return DetectionFinding{}, fmt.Errorf("ocsf: containment result for %s has no time", r.FindingID)
	}
	d := base(ActivityUpdate, r.Severity)
	switch asff.Workflow(r) {
	case "NOTIFIED":
		d.StatusID, d.Status = StatusInProgress, "In Progress"
	case "RESOLVED":
		d.StatusID, d.Status = StatusResolved, "Resolved"
	}
	fake := &finding.Finding{Rule: r.Rule, Principal: r.Principal}
	d.Time = ms(r.Time)
	d.Message = sanitize.Clean("Containment ("+orDryRun(r.Mode)+") for "+asff.Title(fake), 256)
	d.Comment = asff.Note(r)
	d.Metadata.UID = eventUID(r.FindingID, ActivityUpdate, d.Time, "result", r.Mode, d.Comment)
	d.Info = FindingInfo{
		UID: sanitize.Clean(r.FindingID, 512), Title: asff.Title(fake), Types: []string{asff.FindingType(r.Rule)}, ModifiedTime: ms(r.Time),
		Analytic: &Analytic{UID: sanitize.Clean(r.Rule, 256), Name: sanitize.Clean(rules.Title(r.Rule), 256), TypeID: 1, Type: "Rule"},
	}
	d.Cloud = cloud(r.Account, r.Region)
	d.Resources = resources(asffProduct(r.Account, r.Region), fake)
	d.Evidences = evidences(r.Principal, r.SourceIP)
	var outcomes []string
	for _, a := range r.Actions {
		outcomes = append(outcomes, sanitize.Clean(a.Action+" "+string(a.Outcome), 128))
	}
	d.Unmapped = Unmapped{Schema: r.Schema, Rule: sanitize.Clean(r.Rule, 256), Mode: sanitize.Clean(r.Mode, 32), Outcomes: outcomes}
	return d, nil
}

// eventUID is metadata.uid, which OCSF defines per event instance: a digest of the finding id and
// what distinguishes this event of it (activity, time, count or outcome), so each count change
// and each result has its own uid and a redelivery of the same event keeps it.
func eventUID(findingID string, activity int, t int64, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d", findingID, activity, t)
	for _, p := range parts {
		h.Write([]byte("\x00" + p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func orDryRun(m string) string {
	if m == "" {
		return "dry-run"
	}
	return m
}

func first(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func cloud(account, region string) Cloud {
	return Cloud{Provider: "AWS", Region: sanitize.Clean(region, 64), Account: Account{UID: sanitize.Clean(account, 64), TypeID: 10, Type: "AWS Account"}}
}

func asffProduct(account, region string) asff.Product {
	return asff.Product{Region: sanitize.Clean(region, 64), Account: sanitize.Clean(account, 64)}
}

// resources reuses the ASFF resource list so both formats name the same things.
func resources(p asff.Product, f *finding.Finding) []Resource {
	var out []Resource
	for _, r := range asff.Resources(f, p) {
		res := Resource{UID: deref(r.Id), Type: resourceTypes[deref(r.Type)]}
		if r.Details != nil && r.Details.Other != nil {
			res.Type = resourceTypes[r.Details.Other["ResourceType"]]
			res.Name = r.Details.Other["Name"]
		}
		if res.Type == "" {
			res.Type = deref(r.Type)
		}
		out = append(out, res)
	}
	return out
}

// resourceTypes are the CloudFormation type names OCSF consumers expect, by ASFF type (or SES kind).
var resourceTypes = map[string]string{
	"AwsIamUser": "AWS::IAM::User", "AwsIamRole": "AWS::IAM::Role", "AwsIamAccessKey": "AWS::IAM::AccessKey",
	"AwsAccount": "AWS::::Account", "identity": "AWS::SES::EmailIdentity", "configuration-set": "AWS::SES::ConfigurationSet",
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func evidences(p finding.Principal, ip string) []Evidence {
	var e Evidence
	u := User{Name: sanitize.Clean(p.Name, 256), UID: sanitize.Clean(p.ARN, 512), CredentialUID: sanitize.Clean(p.AccessKeyID, 128)}
	if u.Name != "" || u.UID != "" || u.CredentialUID != "" {
		u.TypeID, u.Type = userType(p.Kind)
		e.Actor = &Actor{User: u}
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		// The zone (fe80::1%eth0) names an interface of the sender's host: meaningless here, and
		// with it the address can exceed ip_t's 40 characters.
		e.SrcEndpoint = &Endpoint{IP: a.Unmap().WithZone("").String()}
	}
	if e.Actor == nil && e.SrcEndpoint == nil {
		return nil
	}
	return []Evidence{e}
}

// userType is the user object's type_id and type for a principal kind.
func userType(k finding.PrincipalKind) (int, string) {
	switch k {
	case finding.KindUser:
		return 1, "User"
	case finding.KindRoot:
		return 2, "Admin"
	case finding.KindRole:
		return 99, "AssumedRole" // Other: the CloudTrail userIdentity type
	}
	return 0, "Unknown"
}

func cleanAll(in []string, limit int) []string {
	var out []string
	for _, s := range in {
		if c := sanitize.Clean(s, limit); c != "" {
			out = append(out, c)
		}
	}
	return out
}
