package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/policy"
)

// httpsRules are the SES API endpoint's rules: 443 from each block the SMTP rules allow.
func httpsRules(smtp []policy.SGRule) []policy.SGRule {
	var out []policy.SGRule
	seen := map[string]bool{}
	for _, r := range smtp {
		if !seen[r.CIDR] {
			seen[r.CIDR] = true
			out = append(out, policy.SGRule{Protocol: "tcp", Port: 443, CIDR: r.CIDR, IPv6: r.IPv6,
				Description: fmt.Sprintf("sesguard: HTTPS 443 from %s", r.CIDR)})
		}
	}
	return out
}

// endpoints are the SMTP (and optional SES API) interface endpoints and, in central mode, the
// private hosted zone member VPCs associate with.
type endpoints struct {
	SMTP           awsec2.CfnVPCEndpoint
	SMTPGroup      awsec2.SecurityGroup
	API            awsec2.CfnVPCEndpoint // nil unless sesguardSesApiEndpoint
	Zone           awsroute53.CfnHostedZone
	Record         awsroute53.CfnRecordSet
	Authorizations []customresources.AwsCustomResource
}

func newEndpoints(scope constructs.Construct, id string, cfg *Config) (*endpoints, error) {
	rules, err := policy.RenderEndpointSGRules(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w (set network.cidrs, or give the VPC blocks in %s)", err, ctxVpcCidrs)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	e := &endpoints{}
	// Imported by id, never looked up: synth stays offline and the stack env-agnostic. The
	// security group only needs the VPC id.
	vpc := awsec2.Vpc_FromVpcAttributes(c, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String(cfg.VpcID),
		AvailabilityZones: awscdk.Fn_GetAzs(nil),
	})
	// The VPC is only used for its id; CDK warns that token AZs and missing route tables would
	// break subnet-selecting constructs, which this stack does not use.
	awscdk.Annotations_Of(vpc).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones"),
		jsii.String("only the VPC id is used (security groups); no subnet selection"))
	subnetIDs := make([]any, len(cfg.SubnetIDs))
	for i, s := range cfg.SubnetIDs {
		sub := awsec2.Subnet_FromSubnetId(c, jsii.String("Subnet"+s), jsii.String(s))
		awscdk.Annotations_Of(sub).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
			jsii.String("interface endpoints need no route table"))
		subnetIDs[i] = sub.SubnetId()
	}
	central := cfg.EndpointMode == endpointCentral

	e.SMTPGroup = securityGroup(c, "SmtpEndpointSG", vpc, "sesguard SES SMTP endpoint: SMTP ports from the approved networks only", rules)
	e.SMTP = awsec2.NewCfnVPCEndpoint(c, jsii.String("SmtpEndpoint"), &awsec2.CfnVPCEndpointProps{
		VpcId:             vpc.VpcId(),
		ServiceName:       awscdk.Fn_Sub(jsii.String("com.amazonaws.${AWS::Region}.email-smtp"), nil),
		VpcEndpointType:   jsii.String("Interface"),
		SubnetIds:         &subnetIDs,
		SecurityGroupIds:  &[]any{e.SMTPGroup.SecurityGroupId()},
		PrivateDnsEnabled: jsii.Bool(!central),
	})
	awscdk.NewCfnOutput(scope, jsii.String("SmtpEndpointId"), &awscdk.CfnOutputProps{
		Value:       e.SMTP.Ref(),
		Description: jsii.String("SES SMTP interface VPC endpoint"),
	})
	firstDNS := awscdk.Fn_Select(jsii.Number(0), e.SMTP.AttrDnsEntries())
	awscdk.NewCfnOutput(scope, jsii.String("SmtpEndpointDns"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Select(jsii.Number(1), awscdk.Fn_Split(jsii.String(":"), firstDNS, jsii.Number(2))),
		Description: jsii.String("Regional DNS name of the SMTP endpoint (for sesguard smtp-check --host)"),
	})

	if central {
		zoneName := awscdk.Fn_Sub(jsii.String("email-smtp.${AWS::Region}.amazonaws.com"), nil)
		e.Zone = awsroute53.NewCfnHostedZone(c, jsii.String("SmtpZone"), &awsroute53.CfnHostedZoneProps{
			Name: zoneName,
			HostedZoneConfig: &awsroute53.CfnHostedZone_HostedZoneConfigProperty{
				Comment: jsii.String("sesguard: shared SES SMTP endpoint for member VPCs"),
			},
			Vpcs: &[]any{&awsroute53.CfnHostedZone_VPCProperty{VpcId: vpc.VpcId(), VpcRegion: awscdk.Aws_REGION()}},
		})
		e.Record = awsroute53.NewCfnRecordSet(c, jsii.String("SmtpAlias"), &awsroute53.CfnRecordSetProps{
			HostedZoneId: e.Zone.Ref(),
			Name:         zoneName,
			Type:         jsii.String("A"),
			AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
				// DnsEntries are "<hosted zone id>:<dns name>"; the first is the regional name.
				HostedZoneId:         awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String(":"), firstDNS, jsii.Number(2))),
				DnsName:              awscdk.Fn_Select(jsii.Number(1), awscdk.Fn_Split(jsii.String(":"), firstDNS, jsii.Number(2))),
				EvaluateTargetHealth: jsii.Bool(false),
			},
		})
		awscdk.NewCfnOutput(scope, jsii.String("SmtpHostedZoneId"), &awscdk.CfnOutputProps{
			Value:       e.Zone.Ref(),
			Description: jsii.String("Private hosted zone member VPCs associate with (aws route53 associate-vpc-with-hosted-zone)"),
		})
		zoneArn := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:route53:::hostedzone/${Zone}"), &map[string]*string{"Zone": e.Zone.Ref()})
		for _, m := range cfg.MemberVPCs {
			region := awscdk.Aws_REGION()
			if m.Region != "" {
				region = jsii.String(m.Region)
			}
			params := map[string]any{
				"HostedZoneId": e.Zone.Ref(),
				"VPC":          map[string]any{"VPCRegion": region, "VPCId": m.VpcID},
			}
			cr := customresources.NewAwsCustomResource(c, jsii.String("Authorize-"+m.VpcID), &customresources.AwsCustomResourceProps{
				ResourceType: jsii.String("Custom::SesguardVpcAssociationAuthorization"),
				OnCreate: &customresources.AwsSdkCall{
					Service: jsii.String("Route53"), Action: jsii.String("CreateVPCAssociationAuthorization"),
					Parameters:         params,
					PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("authorize-" + m.VpcID)),
				},
				OnDelete: &customresources.AwsSdkCall{
					Service: jsii.String("Route53"), Action: jsii.String("DeleteVPCAssociationAuthorization"),
					Parameters: params,
					// Already gone, or the member already associated and removed it: nothing to undo.
					IgnoreErrorCodesMatching: jsii.String("VPCAssociationAuthorizationNotFound|NoSuchHostedZone"),
				},
				Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Actions:   jsii.Strings("route53:CreateVPCAssociationAuthorization", "route53:DeleteVPCAssociationAuthorization"),
						Resources: &[]*string{zoneArn},
					}),
				}),
				InstallLatestAwsSdk: jsii.Bool(false),
			})
			cr.Node().AddDependency(e.Record)
			e.Authorizations = append(e.Authorizations, cr)
		}
	}

	if cfg.SESAPIEndpoint {
		apiSG := securityGroup(c, "ApiEndpointSG", vpc, "sesguard SES API endpoint: HTTPS from the approved networks only", httpsRules(rules))
		e.API = awsec2.NewCfnVPCEndpoint(c, jsii.String("ApiEndpoint"), &awsec2.CfnVPCEndpointProps{
			VpcId:            vpc.VpcId(),
			ServiceName:      awscdk.Fn_Sub(jsii.String("com.amazonaws.${AWS::Region}.email"), nil),
			VpcEndpointType:  jsii.String("Interface"),
			SubnetIds:        &subnetIDs,
			SecurityGroupIds: &[]any{apiSG.SecurityGroupId()},
			// Central mode shares only the SMTP name through the hosted zone; API clients there
			// use the endpoint's own DNS name.
			PrivateDnsEnabled: jsii.Bool(!central),
		})
		awscdk.NewCfnOutput(scope, jsii.String("ApiEndpointId"), &awscdk.CfnOutputProps{
			Value:       e.API.Ref(),
			Description: jsii.String("SES API interface VPC endpoint"),
		})
	}
	return e, nil
}

// securityGroup allows exactly rules in and nothing out (endpoints never open connections).
func securityGroup(scope constructs.Construct, id string, vpc awsec2.IVpc, description string, rules []policy.SGRule) awsec2.SecurityGroup {
	sg := awsec2.NewSecurityGroup(scope, jsii.String(id), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String(description),
		AllowAllOutbound: jsii.Bool(false),
	})
	for _, r := range rules {
		peer := awsec2.Peer_Ipv4(jsii.String(r.CIDR))
		if r.IPv6 {
			peer = awsec2.Peer_Ipv6(jsii.String(r.CIDR))
		}
		sg.AddIngressRule(peer, awsec2.Port_Tcp(jsii.Number(float64(r.Port))), jsii.String(r.Description), jsii.Bool(false))
	}
	return sg
}
