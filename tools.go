//go:build tools

// Package tools pins modules that packages under construction will import, so `go mod tidy`
// keeps them while the work is split across branches. Removed once every module is imported.
package tools

import (
	_ "github.com/aws/aws-cdk-go/awscdk/v2"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	_ "github.com/aws/aws-sdk-go-v2/service/ec2"
	_ "github.com/aws/aws-sdk-go-v2/service/iam"
	_ "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	_ "github.com/aws/aws-sdk-go-v2/service/sesv2"
	_ "github.com/aws/aws-sdk-go-v2/service/sns"
	_ "github.com/aws/aws-sdk-go-v2/service/sqs"
	_ "github.com/aws/constructs-go/constructs/v10"
	_ "github.com/aws/jsii-runtime-go"
	_ "go.yaml.in/yaml/v3"
	_ "github.com/cdklabs/cdk-nag-go/cdknag/v2"
	_ "github.com/emersion/go-sasl"
	_ "github.com/emersion/go-smtp"
)
