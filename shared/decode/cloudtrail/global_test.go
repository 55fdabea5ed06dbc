package cloudtrail

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// globalRec is a CloudTrail record of service src: eventName name, request and response as given.
func globalRec(src, name, req, resp string) string {
	r := with("eventSource", `"`+src+`"`)
	r = with2(r, "eventName", `"`+name+`"`)
	r = with2(r, "requestParameters", req)
	return with2(r, "responseElements", resp)
}

// with2 is with on an arbitrary record (an empty value removes the member).
func with2(rec, member, value string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rec), &m); err != nil {
		panic(err)
	}
	if value == "" {
		delete(m, member)
	} else {
		m[member] = json.RawMessage(value)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestDecodeGlobalSources(t *testing.T) {
	long := strings.Repeat("é", 400)
	cases := []struct {
		name  string
		in    string
		field string // "-": decodes; else the error's field
		msg   string
		check func(t *testing.T, e Event)
	}{
		{name: "CreateAccessKey names the new key", field: "-",
			in: globalRec(IAMEventSource, "CreateAccessKey", `{"userName":"ses"}`, `{"accessKey":{"userName":"ses","accessKeyId":"AKIANEWKEY0000000001","status":"Active","createDate":"Apr 30, 2026 3:12:04 AM"}}`),
			check: func(t *testing.T, e Event) {
				if e.EventSource != IAMEventSource || e.IsSES() || e.IAM == nil || e.IAM.UserName != "ses" || e.IAM.CreatedAccessKeyID != "AKIANEWKEY0000000001" {
					t.Errorf("got %+v %+v", e, e.IAM)
				}
			}},
		{name: "CreateAccessKey without userName takes the response's", field: "-",
			in: globalRec(IAMEventSource, "CreateAccessKey", `null`, `{"accessKey":{"userName":"alice","accessKeyId":"AKIANEWKEY0000000002"}}`),
			check: func(t *testing.T, e Event) {
				if e.IAM == nil || e.IAM.UserName != "alice" {
					t.Errorf("got %+v", e.IAM)
				}
			}},
		{name: "GetFederationToken session", field: "-",
			in: globalRec(STSEventSource, "GetFederationToken", `{"name":"svc","durationSeconds":129600,"policy":"{\"Statement\":[]}"}`,
				`{"credentials":{"accessKeyId":"ASIASESSION000000001","expiration":"May 5, 2026 11:05:00 PM"},"federatedUser":{"federatedUserId":"1:svc","arn":"arn:aws:sts::111122223333:federated-user/svc"}}`),
			check: func(t *testing.T, e Event) {
				if e.IAM == nil || e.IAM.FederatedName != "svc" || e.IAM.CreatedAccessKeyID != "ASIASESSION000000001" ||
					e.IAM.CreatedARN != "arn:aws:sts::111122223333:federated-user/svc" || e.IAM.PolicyDocument != `{"Statement":[]}` {
					t.Errorf("got %+v", e.IAM)
				}
			}},
		{name: "support case", field: "-",
			in: globalRec(SupportEventSource, "CreateCase", `{"subject":"SES limit","serviceCode":"amazon-simple-email-service","categoryCode":"limit-increase","communicationBody":"please"}`, `{"caseId":"case-1"}`),
			check: func(t *testing.T, e Event) {
				if e.Support == nil || e.Support.Subject != "SES limit" || e.Support.ServiceCode != "amazon-simple-email-service" || e.IAM != nil {
					t.Errorf("got %+v %+v", e.Support, e.IAM)
				}
			}},
		{name: "attacker text is bounded", field: "-",
			in: globalRec(IAMEventSource, "CreateUser", `{"userName":"`+long+`"}`, `null`),
			check: func(t *testing.T, e Event) {
				if e.IAM == nil || len(e.IAM.UserName) > maxText+len("…") || !strings.HasSuffix(e.IAM.UserName, "…") {
					t.Errorf("user name of %d bytes", len(e.IAM.UserName))
				}
			}},
		{name: "other shapes of IAM requests are ignored", field: "-",
			in: globalRec(IAMEventSource, "CreateGroup", `{"groupName":"g","tags":{"x":[1]},"enabled":{"deep":true}}`, `{"group":{"arn":"x"}}`),
			check: func(t *testing.T, e Event) {
				if e.IAM == nil || e.IAM.GroupName != "g" {
					t.Errorf("got %+v", e.IAM)
				}
			}},
		{name: "IAM userName wrong type", in: globalRec(IAMEventSource, "CreateUser", `{"userName":5}`, `null`),
			field: "requestParameters.userName", msg: "wrong JSON type"},
		{name: "IAM response key wrong type", in: globalRec(IAMEventSource, "CreateAccessKey", `{}`, `{"accessKey":{"accessKeyId":[]}}`),
			field: "responseElements.accessKey.accessKeyId", msg: "wrong JSON type"},
		{name: "IAM userIdentity wrong type", in: with2(globalRec(IAMEventSource, "CreateUser", `{}`, `null`), "userIdentity", `[]`),
			field: "userIdentity", msg: "wrong JSON type"},
		// Before: an EC2 record whose requestParameters did not fit SES's shape failed as bad
		// input instead of being skipped as another service's record.
		{name: "other service with an unfamiliar request shape is skipped", in: with2(with("eventSource", `"ec2.amazonaws.com"`), "requestParameters", `{"domain":{"vpc":true},"enabled":[1]}`),
			field: "eventSource", msg: "not an SES record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Decode([]byte(c.in), Envelope{})
			if c.field == "-" {
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, e)
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err %v, want field %q and %q", err, c.field, c.msg)
			}
			if c.msg == "not an SES record" && !errors.Is(err, ErrNotSES) {
				t.Fatalf("err %v is not ErrNotSES", err)
			}
		})
	}
}
