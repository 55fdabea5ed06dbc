package policy

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Playbook configures the rules over the attacker's steps around SES: IAM, STS and Support
// calls, multi-Region bursts and the incident chain that links one key's steps.
type Playbook struct {
	// IAMAdmins are the principals approved to administer IAM and STS federation and to open
	// support cases (deploy roles, a break-glass admin): patterns as in senders.principals (a
	// name of this account, or an IAM ARN). Empty: nobody is approved, every such call by a key
	// is a finding.
	IAMAdmins []string
	// InvokedBy are AWS services (userIdentity.invokedBy, e.g. cloudformation.amazonaws.com)
	// whose calls on behalf of a role are approved: a CloudFormation stack creating its users.
	// Only role sessions: a leaked user key driving CloudFormation is still judged.
	InvokedBy []string
	// IncidentWindow links findings of one key into one incident.
	IncidentWindow time.Duration
	// Regions and RegionWindow: SES calls of one key in at least Regions Regions within
	// RegionWindow is playbook.multi_region.
	Regions      int
	RegionWindow time.Duration
}

// Baseline configures the per-key baselines, for accounts that cannot list their networks.
type Baseline struct {
	Enabled bool
	// DormantAfter: a key unused for at least this long that calls SES is baseline.dormant_key.
	DormantAfter time.Duration
	// Learning: networks a key used during its first Learning are its own; later SES use from
	// another network (IPv4 /24, IPv6 /48) is baseline.new_network.
	Learning time.Duration
	// Roaming are principals (name patterns) whose source networks change by design (an ECS
	// service whose tasks get public IPs): baseline.new_network is not judged for them.
	Roaming []string
}

// Defaults of the playbook and baseline sections.
const (
	DefaultIncidentWindow = 24 * time.Hour
	DefaultRegions        = 3
	DefaultRegionWindow   = 10 * time.Minute
	DefaultDormantAfter   = 30 * 24 * time.Hour
	DefaultLearning       = 14 * 24 * time.Hour
)

func defaultPlaybook() Playbook {
	return Playbook{IncidentWindow: DefaultIncidentWindow, Regions: DefaultRegions, RegionWindow: DefaultRegionWindow}
}

func defaultBaseline() Baseline {
	return Baseline{DormantAfter: DefaultDormantAfter, Learning: DefaultLearning}
}

// IAMAdmin reports whether c is approved to administer IAM (playbook.iam_admins), judged from
// account home like CallerApproved.
func (p *Policy) IAMAdmin(c Caller, home string) bool {
	q := Policy{Senders: Senders{Principals: p.Playbook.IAMAdmins}}
	return q.CallerApproved(c, home)
}

// TrustedInvoker reports whether an AWS service calling on a principal's behalf is listed in
// playbook.invoked_by.
func (p *Policy) TrustedInvoker(invokedBy string) bool {
	return invokedBy != "" && LikeAny(p.Playbook.InvokedBy, invokedBy)
}

func (l *loader) playbook(n *yaml.Node, pb *Playbook) {
	const what = "playbook"
	l.mapping(n, what, []field{
		{"iam_admins", func(_, v *yaml.Node) { pb.IAMAdmins = l.list(v, what+".iam_admins", checkSenderPrincipalPattern) }},
		{"invoked_by", func(_, v *yaml.Node) { pb.InvokedBy = l.list(v, what+".invoked_by", checkDomainPattern) }},
		{"incident_window", func(_, v *yaml.Node) {
			if d, ok := l.duration(v, what+".incident_window"); ok {
				pb.IncidentWindow = d
			}
		}},
		{"multi_region", func(_, v *yaml.Node) {
			l.mapping(v, what+".multi_region", []field{
				{"regions", func(_, v *yaml.Node) {
					if x, ok := l.integer(v, what+".multi_region.regions", 2); ok {
						pb.Regions = int(x)
					}
				}},
				{"window", func(_, v *yaml.Node) {
					if d, ok := l.duration(v, what+".multi_region.window"); ok {
						pb.RegionWindow = d
					}
				}},
			})
		}},
	})
}

func (l *loader) baseline(n *yaml.Node, b *Baseline) {
	const what = "baseline"
	l.mapping(n, what, []field{
		{"enabled", func(_, v *yaml.Node) {
			if x, ok := l.boolean(v, what+".enabled"); ok {
				b.Enabled = x
			}
		}},
		{"dormant_after", func(_, v *yaml.Node) {
			if d, ok := l.duration(v, what+".dormant_after"); ok {
				b.DormantAfter = d
			}
		}},
		{"learning", func(_, v *yaml.Node) {
			if d, ok := l.duration(v, what+".learning"); ok {
				b.Learning = d
			}
		}},
		{"roaming_principals", func(_, v *yaml.Node) { b.Roaming = l.list(v, what+".roaming_principals", checkPrincipalPattern) }},
	})
}
