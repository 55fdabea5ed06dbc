package cloudtrail

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// Global-service records (IAM, STS, Support) have their own request and response shapes; only
// the members sesguard judges are declared, so any other shape is ignored rather than failed.

type wireGlobal struct {
	wireHead
	RequestParameters *wireGlobalRequest  `json:"requestParameters"`
	ResponseElements  *wireGlobalResponse `json:"responseElements"`
}

type wireGlobalRequest struct {
	// IAM.
	UserName       string `json:"userName"`
	GroupName      string `json:"groupName"`
	RoleName       string `json:"roleName"`
	PolicyName     string `json:"policyName"`
	PolicyArn      string `json:"policyArn"`
	PolicyDocument string `json:"policyDocument"`
	// STS GetFederationToken.
	Name   string `json:"name"`
	Policy string `json:"policy"`
	// Support CreateCase.
	Subject      string `json:"subject"`
	ServiceCode  string `json:"serviceCode"`
	CategoryCode string `json:"categoryCode"`
}

type wireGlobalResponse struct {
	AccessKey *struct {
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
	} `json:"accessKey"` // iam:CreateAccessKey
	User *struct {
		UserName string `json:"userName"`
		ARN      string `json:"arn"`
	} `json:"user"` // iam:CreateUser
	Credentials *struct {
		AccessKeyID string `json:"accessKeyId"`
	} `json:"credentials"` // sts:GetFederationToken
	FederatedUser *struct {
		ARN string `json:"arn"`
	} `json:"federatedUser"`
	Policy *struct {
		PolicyName string `json:"policyName"`
		ARN        string `json:"arn"`
	} `json:"policy"` // iam:CreatePolicy
}

// maxText caps the attacker-controlled strings kept from a global-service record.
const (
	maxText       = 256
	maxPolicyText = 16 << 10 // IAM's largest policy document is 10,240 characters
)

// decodeGlobal decodes an IAM, STS or Support CloudTrail record.
func decodeGlobal(data []byte, env Envelope) (Event, error) {
	var w wireGlobal
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, jsonError(err)
	}
	if field, err := jsonstrict.Check(data, reflect.TypeOf(w)); err != nil {
		return Event{}, &FieldError{Field: field, Err: err}
	}
	if w.EventSource == nil {
		return Event{}, fieldErr("eventSource", "missing")
	}
	e, err := normalizeHead(&w.wireHead, env)
	if err != nil {
		return Event{}, err
	}
	r, resp := w.RequestParameters, w.ResponseElements
	if r == nil {
		r = &wireGlobalRequest{}
	}
	if resp == nil {
		resp = &wireGlobalResponse{}
	}
	switch e.EventSource {
	case SupportEventSource:
		if r.Subject != "" || r.ServiceCode != "" || r.CategoryCode != "" {
			e.Support = &SupportCase{Subject: clip(r.Subject, maxText), ServiceCode: clip(r.ServiceCode, maxText), CategoryCode: clip(r.CategoryCode, maxText)}
		}
	default:
		c := IAMCall{
			UserName: clip(r.UserName, maxText), GroupName: clip(r.GroupName, maxText), RoleName: clip(r.RoleName, maxText),
			PolicyName: clip(r.PolicyName, maxText), PolicyARN: clip(r.PolicyArn, maxText),
			PolicyDocument: clip(firstOf(r.PolicyDocument, r.Policy), maxPolicyText), FederatedName: clip(r.Name, maxText),
		}
		if k := resp.AccessKey; k != nil {
			c.CreatedAccessKeyID = clip(k.AccessKeyID, maxText)
			c.UserName = firstOf(c.UserName, clip(k.UserName, maxText))
		}
		if u := resp.User; u != nil {
			c.CreatedARN = clip(u.ARN, maxText)
			c.UserName = firstOf(c.UserName, clip(u.UserName, maxText))
		}
		if cr := resp.Credentials; cr != nil {
			c.CreatedAccessKeyID = clip(cr.AccessKeyID, maxText)
		}
		if fu := resp.FederatedUser; fu != nil {
			c.CreatedARN = clip(fu.ARN, maxText)
		}
		if p := resp.Policy; p != nil {
			c.PolicyName = firstOf(c.PolicyName, clip(p.PolicyName, maxText))
			c.CreatedARN = firstOf(c.CreatedARN, clip(p.ARN, maxText))
		}
		if c != (IAMCall{}) {
			e.IAM = &c
		}
	}
	return e, nil
}

// clip bounds attacker-controlled text kept in an Event (on a rune boundary).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…" // a rune cut in half is dropped
}
