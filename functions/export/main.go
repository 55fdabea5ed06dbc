// Command export is the sesguard export Lambda: it reads findings and containment results from
// the findings topic (via its own SQS queue) and imports them into Security Hub CSPM as ASFF
// and/or puts them on an EventBridge bus as custom events and/or on the Firehose stream of an
// Amazon Security Lake custom source as OCSF. Its own function so its role holds only
// securityhub:BatchImportFindings/BatchUpdateFindings, events:PutEvents and
// firehose:PutRecordBatch.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/deliver/export"
	"github.com/sesguard/sesguard/shared/render/asff"
)

// Environment (set by the CDK app, infra/export.go).
const (
	envSecurityHub = "SESGUARD_SECURITY_HUB" // "true": import into this account's Security Hub
	envEventBus    = "SESGUARD_EVENT_BUS"    // bus name or ARN ("default" for the default bus); unset: no events
	envAccountID   = "SESGUARD_ACCOUNT_ID"   // the account the function runs in (the product ARN's)
	// envSecurityLake is the Firehose stream of the Security Lake custom source; unset: none.
	envSecurityLake = "SESGUARD_SECURITY_LAKE_STREAM"
)

// streamName is Firehose's DeliveryStreamName pattern (1–64 characters).
var streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// settings is the validated environment.
type settings struct {
	hub     bool
	bus     string
	lake    string
	product asff.Product
}

func load(getenv func(string) string) (settings, error) {
	var s settings
	var errs []error
	switch v := strings.TrimSpace(getenv(envSecurityHub)); v {
	case "", "false":
	case "true":
		s.hub = true
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want true or false", envSecurityHub, v))
	}
	s.bus = strings.TrimSpace(getenv(envEventBus))
	if s.bus == "default" {
		s.bus = ""
	}
	s.lake = strings.TrimSpace(getenv(envSecurityLake))
	if s.lake != "" && !streamName.MatchString(s.lake) {
		errs = append(errs, fmt.Errorf("%s=%q: want a Firehose stream name", envSecurityLake, s.lake))
	}
	if !s.hub && strings.TrimSpace(getenv(envEventBus)) == "" && s.lake == "" {
		errs = append(errs, fmt.Errorf("nothing to export to: set %s=true, %s and/or %s", envSecurityHub, envEventBus, envSecurityLake))
	}
	if s.hub {
		s.product = asff.Product{Region: strings.TrimSpace(getenv("AWS_REGION")), Account: strings.TrimSpace(getenv(envAccountID))}
		if err := s.product.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s / AWS_REGION: %w", envAccountID, err))
		}
		switch {
		case strings.HasPrefix(s.product.Region, "cn-"):
			s.product.Partition = "aws-cn"
		case strings.HasPrefix(s.product.Region, "us-gov-"):
			s.product.Partition = "aws-us-gov"
		}
	}
	return s, errors.Join(errs...)
}

func main() {
	log := fnenv.NewLogger(os.Stderr, "export")
	s, err := load(os.Getenv)
	if err != nil {
		fnenv.Fatal(log, "export: cannot start", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "export: cannot start: AWS configuration", err)
	}
	h := &Handler{Log: log}
	if s.hub {
		h.Destinations = append(h.Destinations, &export.Hub{Client: securityhub.NewFromConfig(awsCfg), Product: s.product, Log: log})
	}
	if os.Getenv(envEventBus) != "" {
		h.Destinations = append(h.Destinations, &export.Bus{Client: eventbridge.NewFromConfig(awsCfg), Bus: s.bus})
	}
	if s.lake != "" {
		h.Destinations = append(h.Destinations, &Lake{Client: firehose.NewFromConfig(awsCfg), Stream: s.lake})
	}
	log.Info("export: ready", "security_hub", s.hub, "event_bus", os.Getenv(envEventBus), "security_lake_stream", s.lake)
	lambda.Start(h.Handle)
}
