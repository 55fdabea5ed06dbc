package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

const (
	identity   = "mail.example.com"
	policyName = "sesguard-preventive"
	ourSet     = "sesguard-monitored"
)

// ourDoc is shaped like shared/policy.IdentityPolicy's output (its Id marks it as sesguard's).
var ourDoc = `{"Version":"2012-10-17","Id":"sesguard-identity-policy","Statement":[{"Sid":"DenyOutsideApprovedNetwork","Effect":"Deny","Principal":"*","Action":["ses:SendEmail","ses:SendRawEmail"],"Resource":"` +
	awstest.IdentityARN(identity) + `","Condition":{"StringNotLike":{"aws:SourceVpc":["vpc-0a1b2c3d4e5f60718"]}}}]}`

// customerDoc is a sending-authorization policy the customer wrote under the same name.
var customerDoc = `{"Version":"2012-10-17","Id":"delegate-to-marketing","Statement":[{"Sid":"AllowMarketing","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["ses:SendRawEmail"],"Resource":"` +
	awstest.IdentityARN(identity) + `"}]}`

// recorder counts the SES calls that change something, so a test can assert "nothing written".
type recorder struct {
	SES
	mu     sync.Mutex
	writes []string
	// afterGetPolicies runs once after the first GetEmailIdentityPolicies (forced interleaving).
	afterGetPolicies func()
}

func (r *recorder) note(op string) { r.mu.Lock(); r.writes = append(r.writes, op); r.mu.Unlock() }

func (r *recorder) GetEmailIdentityPolicies(ctx context.Context, in *sesv2.GetEmailIdentityPoliciesInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityPoliciesOutput, error) {
	out, err := r.SES.GetEmailIdentityPolicies(ctx, in, opts...)
	if f := r.afterGetPolicies; f != nil {
		r.afterGetPolicies = nil
		f()
	}
	return out, err
}

func (r *recorder) PutEmailIdentityConfigurationSetAttributes(ctx context.Context, in *sesv2.PutEmailIdentityConfigurationSetAttributesInput, opts ...func(*sesv2.Options)) (*sesv2.PutEmailIdentityConfigurationSetAttributesOutput, error) {
	r.note("PutEmailIdentityConfigurationSetAttributes " + aws.ToString(in.ConfigurationSetName))
	return r.SES.PutEmailIdentityConfigurationSetAttributes(ctx, in, opts...)
}

func (r *recorder) CreateEmailIdentityPolicy(ctx context.Context, in *sesv2.CreateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityPolicyOutput, error) {
	r.note("CreateEmailIdentityPolicy")
	return r.SES.CreateEmailIdentityPolicy(ctx, in, opts...)
}

func (r *recorder) UpdateEmailIdentityPolicy(ctx context.Context, in *sesv2.UpdateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.UpdateEmailIdentityPolicyOutput, error) {
	r.note("UpdateEmailIdentityPolicy")
	return r.SES.UpdateEmailIdentityPolicy(ctx, in, opts...)
}

func (r *recorder) DeleteEmailIdentityPolicy(ctx context.Context, in *sesv2.DeleteEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.DeleteEmailIdentityPolicyOutput, error) {
	r.note("DeleteEmailIdentityPolicy")
	return r.SES.DeleteEmailIdentityPolicy(ctx, in, opts...)
}

type env struct {
	m   *awstest.Moto
	ses *sesv2.Client
	rec *recorder
	h   *Handler
}

func newEnv(t *testing.T, m *awstest.Moto) *env {
	m.Reset(t)
	c := sesv2.NewFromConfig(m.Config(t))
	rec := &recorder{SES: c}
	return &env{m: m, ses: c, rec: rec, h: &Handler{SES: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

func (e *env) defaultSet(t *testing.T, id string) string {
	t.Helper()
	out, err := e.ses.GetEmailIdentity(context.Background(), &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ConfigurationSetName)
}

func (e *env) policies(t *testing.T) map[string]string {
	t.Helper()
	out, err := e.ses.GetEmailIdentityPolicies(context.Background(), &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String(identity)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Policies
}

func (e *env) putPolicy(t *testing.T, doc string) {
	t.Helper()
	if _, err := e.ses.CreateEmailIdentityPolicy(context.Background(), &sesv2.CreateEmailIdentityPolicyInput{
		EmailIdentity: aws.String(identity), PolicyName: aws.String(policyName), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

func setEvent(typ cfn.RequestType, physicalID, id, set string, owned bool) cfn.Event {
	return cfn.Event{RequestType: typ, ResourceType: TypeDefaultSet, LogicalResourceID: "DefaultSet", PhysicalResourceID: physicalID,
		RequestID: "6b2f1c6e-0d5e-4a4e-9c55-0a7a5e3f1e01",
		ResourceProperties: map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:guard",
			"EmailIdentity": id, "ConfigurationSetName": set, "StackOwnsSet": map[bool]string{true: "true", false: "false"}[owned]}}
}

func policyEvent(typ cfn.RequestType, physicalID, doc string) cfn.Event {
	return cfn.Event{RequestType: typ, ResourceType: TypeIdentityPolicy, LogicalResourceID: "IdentityPolicy", PhysicalResourceID: physicalID,
		RequestID: "0d7e9a51-7f1c-4f3e-8e0b-4c2b9d6a1e02",
		ResourceProperties: map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:guard",
			"EmailIdentity": identity, "PolicyName": policyName, "Policy": doc}}
}

// TestDefaultSet: the default configuration set is recorded on create and put back on delete
// (issue 26 item 6: it was overwritten unrecorded and cleared on delete or rollback).
func TestDefaultSet(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		prior string // the identity's default before the deploy ("" none)
		ours  string // the set the stack makes the default
		owned bool   // the stack creates ours (else imported, outlives the stack)
		// between create and delete
		operatorSets string // operator changes the default to this ("" leaves it)
		deletePrior  bool   // the prior set is deleted meanwhile
		wantAfter    string // default after the stack's Delete
	}{
		{name: "customer default restored", prior: "customer-set", ours: ourSet, owned: true, wantAfter: "customer-set"},
		{name: "no default before: cleared", prior: "", ours: ourSet, owned: true, wantAfter: ""},
		{name: "imported set already the default stays", prior: "prod-outbound", ours: "prod-outbound", wantAfter: "prod-outbound"},
		{name: "imported set made default, prior restored", prior: "customer-set", ours: "prod-outbound", wantAfter: "customer-set"},
		{name: "operator's later choice stands", prior: "customer-set", ours: ourSet, owned: true, operatorSets: "operator-set", wantAfter: "operator-set"},
		{name: "prior deleted, owned set cleared", prior: "customer-set", ours: ourSet, owned: true, deletePrior: true, wantAfter: ""},
		{name: "prior deleted, imported set kept", prior: "customer-set", ours: "prod-outbound", deletePrior: true, wantAfter: "prod-outbound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, m)
			e.m.SeedIdentity(t, identity, c.prior)
			e.m.SeedConfigurationSet(t, c.ours)
			id, data, err := e.h.Handle(ctx, setEvent(cfn.RequestCreate, "", identity, c.ours, c.owned))
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if data["PriorConfigurationSet"] != c.prior || !strings.HasPrefix(id, appliedSetPrefix) {
				t.Errorf("create: id %q data %v; want the prior %q recorded", id, data, c.prior)
			}
			if got := e.defaultSet(t, identity); got != c.ours {
				t.Fatalf("after create default = %q, want %q", got, c.ours)
			}
			if c.operatorSets != "" {
				e.m.SeedIdentity(t, "other.example.com", c.operatorSets) // creates the set
				if _, err := e.ses.PutEmailIdentityConfigurationSetAttributes(ctx, &sesv2.PutEmailIdentityConfigurationSetAttributesInput{
					EmailIdentity: aws.String(identity), ConfigurationSetName: aws.String(c.operatorSets)}); err != nil {
					t.Fatal(err)
				}
			}
			if c.deletePrior {
				if _, err := e.ses.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String(c.prior)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := e.h.Handle(ctx, setEvent(cfn.RequestDelete, id, identity, c.ours, c.owned)); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if got := e.defaultSet(t, identity); got != c.wantAfter {
				t.Errorf("after delete default = %q, want %q", got, c.wantAfter)
			}
		})
	}

	t.Run("failed create changes nothing, its rollback delete changes nothing", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "customer-set")
		// ours does not exist: SES refuses the write.
		id, _, err := e.h.Handle(ctx, setEvent(cfn.RequestCreate, "", identity, "missing-set", true))
		if err == nil || !strings.HasPrefix(id, nothingApplied) {
			t.Fatalf("create: id %q err %v; want a failure with a nothing-applied id", id, err)
		}
		if _, _, err := e.h.Handle(ctx, setEvent(cfn.RequestDelete, id, identity, "missing-set", true)); err != nil {
			t.Fatalf("rollback delete: %v", err)
		}
		if got := e.defaultSet(t, identity); got != "customer-set" {
			t.Errorf("default = %q after a failed create and its rollback, want customer-set", got)
		}
		if len(e.rec.writes) != 1 { // the refused put only
			t.Errorf("writes %v; want only the refused create", e.rec.writes)
		}
	})
	t.Run("ids it did not issue delete nothing", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, ourSet)
		// The cfn wrapper's fallback after a panic (the request id), and the old
		// AwsCustomResource's id: neither says what was there before, so nothing is put back.
		for _, pid := range []string{"6b2f1c6e-0d5e-4a4e-9c55-0a7a5e3f1e01", identity + "/default-configuration-set", nothingApplied + "default-set/" + identity} {
			if _, _, err := e.h.Handle(ctx, setEvent(cfn.RequestDelete, pid, identity, ourSet, true)); err != nil {
				t.Fatalf("delete %s: %v", pid, err)
			}
		}
		if len(e.rec.writes) != 0 || e.defaultSet(t, identity) != ourSet {
			t.Errorf("writes %v, default %q", e.rec.writes, e.defaultSet(t, identity))
		}
	})
	t.Run("update keeps the id and the recorded prior", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "customer-set")
		e.m.SeedConfigurationSet(t, ourSet)
		e.m.SeedConfigurationSet(t, "renamed-set")
		id, _, err := e.h.Handle(ctx, setEvent(cfn.RequestCreate, "", identity, ourSet, true))
		if err != nil {
			t.Fatal(err)
		}
		upd := setEvent(cfn.RequestUpdate, id, identity, "renamed-set", true)
		upd.OldResourceProperties = setEvent(cfn.RequestCreate, "", identity, ourSet, true).ResourceProperties
		id2, _, err := e.h.Handle(ctx, upd)
		if err != nil || id2 != id {
			t.Fatalf("update: id %q → %q, err %v; a changed id makes CloudFormation delete the old one", id, id2, err)
		}
		if got := e.defaultSet(t, identity); got != "renamed-set" {
			t.Errorf("after update default = %q", got)
		}
		if _, _, err := e.h.Handle(ctx, setEvent(cfn.RequestDelete, id2, identity, "renamed-set", true)); err != nil {
			t.Fatal(err)
		}
		if got := e.defaultSet(t, identity); got != "customer-set" {
			t.Errorf("after delete default = %q, want customer-set", got)
		}
	})
	t.Run("identity deleted before the stack", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		e.m.SeedConfigurationSet(t, ourSet)
		id, _, err := e.h.Handle(ctx, setEvent(cfn.RequestCreate, "", identity, ourSet, true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ses.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(identity)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.h.Handle(ctx, setEvent(cfn.RequestDelete, id, identity, ourSet, true)); err != nil {
			t.Errorf("delete must not fail the stack deletion: %v", err)
		}
	})
}

// TestIdentityPolicy: a customer's policy of sesguard's name is refused on create and never
// deleted (issue 26 item 6: AlreadyExists, rollback, and Delete removed it by name).
func TestIdentityPolicy(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()

	t.Run("customer's policy of the same name: refused, then left alone", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		e.putPolicy(t, customerDoc)
		id, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err == nil || !strings.Contains(err.Error(), "sesguard did not write") || !strings.HasPrefix(id, nothingApplied) {
			t.Fatalf("create: id %q err %v; want a refusal with a nothing-applied id", id, err)
		}
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, ourDoc)); err != nil {
			t.Fatalf("rollback delete: %v", err)
		}
		if got := e.policies(t)[policyName]; got != customerDoc {
			t.Errorf("customer's policy after create+rollback = %q", got)
		}
		if len(e.rec.writes) != 0 {
			t.Errorf("writes %v; want none", e.rec.writes)
		}
	})
	t.Run("customer's policy appears between read and write", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		e.rec.afterGetPolicies = func() { e.putPolicy(t, customerDoc) }
		id, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err == nil || !strings.HasPrefix(id, nothingApplied) {
			t.Fatalf("create: id %q err %v; want a refusal (AlreadyExists)", id, err)
		}
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, ourDoc)); err != nil {
			t.Fatal(err)
		}
		if got := e.policies(t)[policyName]; got != customerDoc {
			t.Errorf("customer's policy = %q", got)
		}
	})
	t.Run("create, update, delete", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		id, data, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err != nil || id != appliedPolicyPrefix+policyName+"/"+identity || data["Adopted"] != "false" {
			t.Fatalf("create: id %q data %v err %v", id, data, err)
		}
		if !sesguardPolicy(e.policies(t)[policyName]) {
			t.Fatalf("policy not written: %v", e.policies(t))
		}
		newDoc := strings.Replace(ourDoc, "vpc-0a1b2c3d4e5f60718", "vpc-0fedcba9876543210", 1)
		id2, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestUpdate, id, newDoc))
		if err != nil || id2 != id {
			t.Fatalf("update: id %q err %v", id2, err)
		}
		if got := e.policies(t)[policyName]; !strings.Contains(got, "vpc-0fedcba9876543210") {
			t.Errorf("after update policy = %s", got)
		}
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, newDoc)); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.policies(t)[policyName]; ok {
			t.Errorf("policy still there after delete")
		}
		// Deleting again (CloudFormation retries) is fine.
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, newDoc)); err != nil {
			t.Errorf("second delete: %v", err)
		}
	})
	t.Run("sesguard's own leftover policy is adopted", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		e.putPolicy(t, ourDoc)
		id, data, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err != nil || !strings.HasPrefix(id, appliedPolicyPrefix) || data["Adopted"] != "true" {
			t.Fatalf("create: id %q data %v err %v", id, data, err)
		}
	})
	t.Run("policy replaced by the customer after deploy is left", func(t *testing.T) {
		e := newEnv(t, m)
		e.m.SeedIdentity(t, identity, "")
		id, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ses.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{
			EmailIdentity: aws.String(identity), PolicyName: aws.String(policyName), Policy: aws.String(customerDoc)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, ourDoc)); err != nil {
			t.Fatal(err)
		}
		if got := e.policies(t)[policyName]; got != customerDoc {
			t.Errorf("customer's policy = %q", got)
		}
	})
	t.Run("identity missing: create fails, delete does nothing", func(t *testing.T) {
		e := newEnv(t, m)
		id, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestCreate, "", ourDoc))
		if err == nil || !strings.HasPrefix(id, nothingApplied) {
			t.Fatalf("create: id %q err %v", id, err)
		}
		if _, _, err := e.h.Handle(ctx, policyEvent(cfn.RequestDelete, id, ourDoc)); err != nil || len(e.rec.writes) != 0 {
			t.Errorf("delete: err %v writes %v", err, e.rec.writes)
		}
	})
}

// TestBadRequests: malformed properties fail with the property named; deleting an unknown type
// never blocks a stack deletion.
func TestBadRequests(t *testing.T) {
	h := &Handler{SES: nil, Log: slog.New(slog.NewTextHandler(io.Discard, nil))} // no SES call may happen
	ctx := context.Background()
	for _, c := range []struct {
		name string
		ev   cfn.Event
		want string
	}{
		{"policy name missing", cfn.Event{RequestType: cfn.RequestCreate, ResourceType: TypeIdentityPolicy,
			ResourceProperties: map[string]any{"EmailIdentity": identity, "Policy": ourDoc}}, "property PolicyName missing"},
		{"identity not a string", cfn.Event{RequestType: cfn.RequestCreate, ResourceType: TypeDefaultSet,
			ResourceProperties: map[string]any{"EmailIdentity": []any{"x"}, "ConfigurationSetName": ourSet}}, "property EmailIdentity: want a non-empty string"},
		{"slash in a set name", cfn.Event{RequestType: cfn.RequestCreate, ResourceType: TypeDefaultSet,
			ResourceProperties: map[string]any{"EmailIdentity": identity, "ConfigurationSetName": "a/b"}}, "contains '/'"},
		{"unknown type", cfn.Event{RequestType: cfn.RequestCreate, ResourceType: "Custom::Other"}, "not served by this provider"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, _, err := h.Handle(ctx, c.ev)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(id, nothingApplied) {
				t.Errorf("id %q err %v; want %q", id, err, c.want)
			}
		})
	}
	if id, _, err := h.Handle(ctx, cfn.Event{RequestType: cfn.RequestDelete, ResourceType: "Custom::Other", PhysicalResourceID: "x"}); err != nil || id != "x" {
		t.Errorf("delete of an unknown type: id %q err %v", id, err)
	}
}

// TestCloudFormationResponse: through cfn.LambdaWrap (what main runs), a refused create reaches
// CloudFormation as FAILED with the reason and the nothing-applied id its rollback Delete will carry.
func TestCloudFormationResponse(t *testing.T) {
	m := awstest.Start(t)
	e := newEnv(t, m)
	e.m.SeedIdentity(t, identity, "")
	e.putPolicy(t, customerDoc)
	var got cfn.Response
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			t.Errorf("response method %s", r.Method)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	ev := policyEvent(cfn.RequestCreate, "", ourDoc)
	ev.ResponseURL = srv.URL + "/presigned"
	ev.StackID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/Sesguard/1"
	if _, err := cfn.LambdaWrap(e.h.Handle)(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.Status != cfn.StatusFailed || !strings.Contains(got.Reason, "sesguard did not write") ||
		got.PhysicalResourceID != nothingApplied+"identity-policy/"+policyName+"/"+identity || got.LogicalResourceID != "IdentityPolicy" {
		t.Errorf("response %+v", got)
	}
}
