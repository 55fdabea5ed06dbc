package vpcresolve_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sesguard/sesguard/shared/engine/attribute/vpcresolve"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func TestResolveAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(m.Config(t))

	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(vpc.Vpc.VpcId)
	if _, err := c.AssociateVpcCidrBlock(ctx, &ec2.AssociateVpcCidrBlockInput{VpcId: aws.String(id), CidrBlock: aws.String("10.21.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	def, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(def.Vpcs) != 1 {
		t.Fatalf("default vpc: %v %d", err, len(def.Vpcs))
	}
	defID := aws.ToString(def.Vpcs[0].VpcId)

	got, err := vpcresolve.Resolve(ctx, c, []string{id, defID})
	if err != nil {
		t.Fatal(err)
	}
	var v4, v6 []string
	for _, pf := range got[id] {
		if pf.Addr().Is4() {
			v4 = append(v4, pf.String())
		} else {
			v6 = append(v6, pf.String())
		}
	}
	slices.Sort(v4)
	if strings.Join(v4, ",") != "10.20.0.0/16,10.21.0.0/16" || len(v6) != 1 {
		t.Errorf("blocks of %s = %v", id, got[id])
	}
	if len(v6) == 1 && !netip.MustParsePrefix(v6[0]).Addr().Is6() {
		t.Errorf("ipv6 block = %s", v6[0])
	}
	if len(got[defID]) == 0 || got[defID][0].String() != aws.ToString(def.Vpcs[0].CidrBlock) {
		t.Errorf("default vpc blocks = %v, want %s", got[defID], aws.ToString(def.Vpcs[0].CidrBlock))
	}

	if _, err := vpcresolve.Resolve(ctx, c, []string{"vpc-0a1b2c3d4e5f60718"}); err == nil || !strings.Contains(err.Error(), "vpc-0a1b2c3d4e5f60718") {
		t.Errorf("missing vpc: err = %v", err)
	}
	if m, err := vpcresolve.Resolve(ctx, c, nil); err != nil || len(m) != 0 {
		t.Errorf("no ids: %v %v", m, err)
	}
}
