package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ingress returns the sorted "cidr:port" rules of the security group with logical id prefix.
func (s *synthed) ingress(t *testing.T, prefix string) []string {
	t.Helper()
	sg := props(s.resources("AWS::EC2::SecurityGroup")[s.logicalID(t, "AWS::EC2::SecurityGroup", prefix)])
	var out []string
	for _, r := range asList(sg["SecurityGroupIngress"]) {
		m := r.(map[string]any)
		if m["IpProtocol"] != "tcp" || m["FromPort"] != m["ToPort"] {
			t.Errorf("%s: rule is not a single TCP port: %v", prefix, m)
		}
		cidr := m["CidrIp"]
		if cidr == nil {
			cidr = m["CidrIpv6"]
		}
		out = append(out, fmt.Sprintf("%v:%v", cidr, m["FromPort"]))
	}
	slices.Sort(out)
	if eg := canon(sg["SecurityGroupEgress"]); !strings.Contains(eg, "255.255.255.255/32") {
		t.Errorf("%s: endpoint group allows egress: %s", prefix, eg)
	}
	return out
}

func rulesFor(cidrs []string, ports ...int) []string {
	var out []string
	for _, c := range cidrs {
		for _, p := range ports {
			out = append(out, fmt.Sprintf("%s:%d", c, p))
		}
	}
	slices.Sort(out)
	return out
}

func TestNoEndpointByDefault(t *testing.T) {
	s := get(t, "default")
	if n := len(s.resources("AWS::EC2::VPCEndpoint")) + len(s.resources("AWS::EC2::SecurityGroup")) + len(s.resources("AWS::Route53::HostedZone")); n != 0 {
		t.Errorf("default configuration created %d endpoint resources", n)
	}
}

func TestLocalEndpoint(t *testing.T) {
	s := get(t, "local")
	eps := s.resources("AWS::EC2::VPCEndpoint")
	if len(eps) != 2 {
		t.Fatalf("want the SMTP and the SES API endpoint, got %d", len(eps))
	}
	smtp := props(eps[s.logicalID(t, "AWS::EC2::VPCEndpoint", "EndpointsSmtpEndpoint")])
	if canon(smtp["ServiceName"]) != canon(sub("com.amazonaws.${AWS::Region}.email-smtp")) || smtp["VpcEndpointType"] != "Interface" ||
		smtp["PrivateDnsEnabled"] != true || smtp["VpcId"] != "vpc-0a1b2c3d4e5f60718" ||
		canon(smtp["SubnetIds"]) != `["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]` {
		t.Errorf("smtp endpoint: %s", canon(smtp))
	}
	api := props(eps[s.logicalID(t, "AWS::EC2::VPCEndpoint", "EndpointsApiEndpoint")])
	if canon(api["ServiceName"]) != canon(sub("com.amazonaws.${AWS::Region}.email")) || api["PrivateDnsEnabled"] != true {
		t.Errorf("api endpoint: %s", canon(api))
	}
	// testdata/local.yaml approves 10.20.0.0/16 and 203.0.113.10/32; context adds the VPC's
	// second block 10.21.0.0/16 (10.20.0.0/16 is deduplicated).
	cidrs := []string{"10.20.0.0/16", "10.21.0.0/16", "203.0.113.10/32"}
	if got, want := s.ingress(t, "EndpointsSmtpEndpointSG"), rulesFor(cidrs, 25, 465, 587, 2465, 2587); !slices.Equal(got, want) {
		t.Errorf("smtp ingress\n got %v\nwant %v", got, want)
	}
	if got, want := s.ingress(t, "EndpointsApiEndpointSG"), rulesFor(cidrs, 443); !slices.Equal(got, want) {
		t.Errorf("api ingress\n got %v\nwant %v", got, want)
	}
	if n := len(s.resources("AWS::Route53::HostedZone")); n != 0 {
		t.Errorf("local mode created %d hosted zones", n)
	}
}

func TestCentralEndpoint(t *testing.T) {
	s := get(t, "central")
	epID := s.logicalID(t, "AWS::EC2::VPCEndpoint", "EndpointsSmtpEndpoint")
	ep := props(s.resources("AWS::EC2::VPCEndpoint")[epID])
	if ep["PrivateDnsEnabled"] != false {
		t.Errorf("central mode must turn private DNS off: %v", ep["PrivateDnsEnabled"])
	}
	// The example policy approves 10.20.0.0/16; its VPC is unresolved (warning) and adds nothing.
	if got, want := s.ingress(t, "EndpointsSmtpEndpointSG"), rulesFor([]string{"10.20.0.0/16"}, 25, 465, 587, 2465, 2587); !slices.Equal(got, want) {
		t.Errorf("smtp ingress\n got %v\nwant %v", got, want)
	}
	zones := s.resources("AWS::Route53::HostedZone")
	if len(zones) != 1 {
		t.Fatalf("want one private hosted zone, got %d", len(zones))
	}
	zoneID := s.logicalID(t, "AWS::Route53::HostedZone", "EndpointsSmtpZone")
	z := props(zones[zoneID])
	if canon(z["Name"]) != canon(sub("email-smtp.${AWS::Region}.amazonaws.com")) ||
		!strings.Contains(canon(z["VPCs"]), `"VPCId":"vpc-0a1b2c3d4e5f60718"`) {
		t.Errorf("zone: %s", canon(z))
	}
	recs := s.resources("AWS::Route53::RecordSet")
	if len(recs) != 1 {
		t.Fatalf("want one alias record, got %d", len(recs))
	}
	for _, r := range recs {
		p := props(r)
		alias := canon(p["AliasTarget"])
		if p["Type"] != "A" || canon(p["Name"]) != canon(z["Name"]) || canon(p["HostedZoneId"]) != canon(ref(zoneID)) ||
			!strings.Contains(alias, `"Fn::GetAtt":["`+epID+`","DnsEntries"]`) {
			t.Errorf("alias record: %s", canon(p))
		}
	}
	auths := s.resources("Custom::SesguardVpcAssociationAuthorization")
	if len(auths) != 2 {
		t.Fatalf("want an authorization per member VPC, got %d", len(auths))
	}
	all := canon(auths)
	for _, want := range []string{
		`CreateVPCAssociationAuthorization`, `DeleteVPCAssociationAuthorization`,
		`vpc-0aaaaaaaaaaaaaaa1`, `\"VPCId\":\"vpc-0bbbbbbbbbbbbbbb2\",\"VPCRegion\":\"eu-west-1\"`,
		`VPCAssociationAuthorizationNotFound`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("authorizations lack %s: %s", want, all)
		}
	}
	// The provider may only authorize on this zone.
	var scoped bool
	for id, p := range s.resources("AWS::IAM::Policy") {
		if strings.HasPrefix(id, "EndpointsAuthorize") {
			doc := canon(props(p)["PolicyDocument"])
			if !strings.Contains(doc, `hostedzone/${Zone}`) || strings.Contains(doc, `"Resource":"*"`) {
				t.Errorf("%s: %s", id, doc)
			}
			scoped = true
		}
	}
	if !scoped {
		t.Error("no policy for the authorization custom resources")
	}
}
