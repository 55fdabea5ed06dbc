// Package vpcresolve turns VPC ids into their CIDR blocks with EC2 DescribeVpcs. It lives apart
// from package attribute so that only the CLI and the CDK app link the (large) EC2 SDK; the
// Lambdas receive the resolved blocks through policy.EnvVPCCIDRs.
package vpcresolve

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2API is the part of the EC2 client Resolve uses.
type EC2API interface {
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
}

var _ EC2API = (*ec2.Client)(nil)

// Resolve returns every associated IPv4 and IPv6 CIDR block of each VPC id (blocks being
// disassociated or failed are left out). An id EC2 does not return is an error naming it.
func Resolve(ctx context.Context, api EC2API, vpcIDs []string) (map[string][]netip.Prefix, error) {
	out := make(map[string][]netip.Prefix, len(vpcIDs))
	if len(vpcIDs) == 0 {
		return out, nil
	}
	pages := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{VpcIds: vpcIDs})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe vpcs %s: %w", strings.Join(vpcIDs, ", "), err)
		}
		for _, v := range page.Vpcs {
			blocks, err := blocksOf(v)
			if err != nil {
				return nil, err
			}
			out[deref(v.VpcId)] = blocks
		}
	}
	var missing []string
	for _, id := range vpcIDs {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("describe vpcs: not found: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func blocksOf(v types.Vpc) ([]netip.Prefix, error) {
	id := deref(v.VpcId)
	var out []netip.Prefix
	seen := map[netip.Prefix]bool{}
	add := func(s string) error {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("vpc %s: cidr block %q: %w", id, s, err)
		}
		pf = pf.Masked()
		if !seen[pf] {
			seen[pf] = true
			out = append(out, pf)
		}
		return nil
	}
	for _, a := range v.CidrBlockAssociationSet {
		if a.CidrBlockState != nil && a.CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated {
			continue
		}
		if err := add(deref(a.CidrBlock)); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 && v.CidrBlock != nil {
		if err := add(*v.CidrBlock); err != nil {
			return nil, err
		}
	}
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		if a.Ipv6CidrBlockState != nil && a.Ipv6CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated {
			continue
		}
		if err := add(deref(a.Ipv6CidrBlock)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
