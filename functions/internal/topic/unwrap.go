package topic

import (
	"encoding/json"
	"errors"
	"strings"
)

// snsEnvelope is the JSON an SNS subscription without raw delivery wraps each message in.
type snsEnvelope struct {
	Type     string  `json:"Type"`
	TopicArn string  `json:"TopicArn"`
	Message  *string `json:"Message"`
}

// Unwrap returns the findings-topic message carried by an SQS body: the body itself with raw
// message delivery, or the SNS envelope's Message without it. The CDK app subscribes with raw
// delivery; accepting both keeps a hand-made subscription working.
func Unwrap(body string) ([]byte, error) {
	b := strings.TrimSpace(body)
	if b == "" {
		return nil, errors.New("empty message body")
	}
	var env snsEnvelope
	if err := json.Unmarshal([]byte(b), &env); err != nil {
		return nil, err
	}
	if env.Type == "Notification" && env.TopicArn != "" && env.Message != nil {
		return []byte(*env.Message), nil
	}
	return []byte(b), nil
}
