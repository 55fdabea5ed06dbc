// Command identityguard is the CloudFormation custom-resource provider for the changes the CDK
// app makes to SES identities it does not own: the preventive identity policy
// (Custom::SesguardIdentityPolicy) and the identity's default configuration set
// (Custom::SesguardDefaultConfigurationSet). Unlike SDK calls in the template
// (AwsCustomResource), it records what it replaced and puts it back on delete, refuses to take
// over a customer's policy of the same name, and deletes nothing after a failed create (the
// physical id it returns then says nothing was applied). It reads no policy file and no table.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
)

func main() {
	log := fnenv.NewLogger(os.Stderr, "identityguard")
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "identityguard: cannot start: AWS configuration", err)
	}
	h := &Handler{SES: sesv2.NewFromConfig(awsCfg), Log: log}
	lambda.Start(cfn.LambdaWrap(func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		return h.Handle(ctx, ev)
	}))
}
