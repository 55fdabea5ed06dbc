package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Error is one mistake in a policy file, with its position (1-based; 0 when unknown).
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every mistake Load found, in file order. Load returns it as its error; use errors.As
// to get at the positions.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load parses and validates a policy file. name labels error messages (usually the file name).
// It reports every mistake it finds, each with line and column, not just the first.
func Load(data []byte, name string) (*Policy, error) {
	l := &loader{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, Errors{l.syntaxError(err, data)}
	}
	// A document that is only `~`, `null` or `---` is as empty as no document: without this it
	// loaded as the zero policy ("valid (version 0)") and a run approved nothing.
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, Errors{{File: name, Msg: "empty policy: expected a mapping with at least `version: 1`"}}
	}
	// Further documents (after ---) would otherwise be ignored without a word: refuse any that
	// is not empty.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, Errors{l.syntaxError(err, data)}
		}
		if len(extra.Content) > 0 && !(extra.Content[0].Kind == yaml.ScalarNode && extra.Content[0].Tag == "!!null") {
			return nil, Errors{{File: name, Line: extra.Content[0].Line, Column: extra.Content[0].Column,
				Msg: "policy: a second YAML document (---); a policy file holds exactly one"}}
		}
	}
	p := defaults()
	p.Name = name
	l.policy(doc.Content[0], &p)
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool {
			if l.errs[i].Line != l.errs[j].Line {
				return l.errs[i].Line < l.errs[j].Line
			}
			return l.errs[i].Column < l.errs[j].Column
		})
		return nil, l.errs
	}
	return &p, nil
}

// isNull reports whether n is (an alias of) a null scalar.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

type loader struct {
	name string
	errs Errors
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

func (l *loader) syntaxError(err error, data []byte) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := Error{File: l.name, Msg: "invalid YAML: " + msg}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
	}
	// The parser gives no column; a tab is the usual culprit and easy to point at.
	if e.Line > 0 {
		lines := bytes.Split(data, []byte("\n"))
		if e.Line <= len(lines) {
			if i := bytes.IndexByte(lines[e.Line-1], '\t'); i >= 0 {
				e.Column = i + 1
				e.Msg += " (a tab: YAML indents with spaces only)"
			}
		}
	}
	return e
}

func (l *loader) errf(n *yaml.Node, format string, args ...any) {
	e := Error{File: l.name, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

// field is one allowed key of a mapping.
type field struct {
	key   string
	parse func(key, val *yaml.Node)
}

// mapping walks a mapping node, calling each field's parser and reporting unknown, duplicate and
// missing-required keys. It returns the key nodes seen, by name.
func (l *loader) mapping(n *yaml.Node, what string, fields []field) map[string]*yaml.Node {
	n = deref(n)
	seen := make(map[string]*yaml.Node)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			l.errf(k, "%s: duplicate key %q (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		var f *field
		for j := range fields {
			if fields[j].key == k.Value {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fields))
			for j := range fields {
				names[j] = fields[j].key
			}
			l.errf(k, "%s: unknown key %q (expected one of: %s)", what, k.Value, strings.Join(names, ", "))
			continue
		}
		f.parse(k, v)
	}
	return seen
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// deref follows YAML aliases (*anchor) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func (l *loader) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errf(n, "%s: expected a string, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// list reads a sequence of strings, validating each with check (nil: any non-empty string).
func (l *loader) list(n *yaml.Node, what string, check func(string) error) []string {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errf(n, "%s: expected a list, got %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	seen := make(map[string]bool)
	for _, item := range n.Content {
		s, ok := l.str(item, what)
		if !ok {
			continue
		}
		if s == "" {
			l.errf(item, "%s: empty entry", what)
			continue
		}
		if check != nil {
			if err := check(s); err != nil {
				l.errf(item, "%s: %q: %v", what, s, err)
				continue
			}
		}
		if seen[s] {
			l.errf(item, "%s: %q listed twice", what, s)
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

func (l *loader) integer(n *yaml.Node, what string, min int64) (int64, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		l.errf(n, "%s: %q is not a whole number", what, s)
		return 0, false
	}
	if v < min {
		l.errf(n, "%s: %d is below the minimum %d", what, v, min)
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	l.errf(n, "%s: %q is not true or false", what, s)
	return false, false
}

func (l *loader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		l.errf(n, "%s: %q is not a duration (use e.g. 30s, 5m, 1h)", what, s)
		return 0, false
	}
	if d <= 0 {
		l.errf(n, "%s: %q must be positive", what, s)
		return 0, false
	}
	// Window counters are keyed by whole seconds: a sub-second window would make the previous
	// bucket's key equal the current one and count every send twice.
	if d < time.Second || d%time.Second != 0 {
		l.errf(n, "%s: %q must be a whole number of seconds (at least 1s)", what, s)
		return 0, false
	}
	return d, true
}

func (l *loader) severity(n *yaml.Node, what string) (finding.Severity, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return "", false
	}
	sev := finding.Severity(s)
	if sev.Rank() == 0 {
		l.errf(n, "%s: unknown severity %q (expected low, medium, high or critical)", what, s)
		return "", false
	}
	return sev, true
}

func (l *loader) policy(root *yaml.Node, p *Policy) {
	var versionSet bool
	keys := l.mapping(root, "policy", []field{
		{"version", func(_, v *yaml.Node) {
			n, ok := l.integer(v, "version", 0)
			if ok && n != 1 {
				l.errf(v, "version: unsupported version %d (this sesguard reads version 1)", n)
			}
			versionSet = ok
			p.Version = int(n)
		}},
		{"network", func(_, v *yaml.Node) { l.network(v, &p.Network) }},
		{"senders", func(_, v *yaml.Node) { l.senders(v, &p.Senders) }},
		{"recipients", func(_, v *yaml.Node) {
			l.mapping(v, "recipients", []field{
				{"domains", func(_, v *yaml.Node) { p.Recipients.Domains = l.list(v, "recipients.domains", checkDomainPattern) }},
			})
		}},
		{"limits", func(_, v *yaml.Node) { l.limits(v, &p.Limits) }},
		{"rules", func(_, v *yaml.Node) { l.rules(v, p) }},
		{"response", func(_, v *yaml.Node) { l.response(v, &p.Response) }},
		{"alerts", func(_, v *yaml.Node) { l.alerts(v, &p.Alerts) }},
		{"preventive", func(_, v *yaml.Node) {
			// `off` unquoted is a YAML 1.1 boolean; the node's text is what was written either way.
			if s, ok := l.str(v, "preventive"); ok {
				if s != PreventiveOff && s != PreventiveEnforce {
					l.errf(v, "preventive: %q is not %s or %s", s, PreventiveOff, PreventiveEnforce)
					return
				}
				p.Preventive = s
			}
		}},
		{"playbook", func(_, v *yaml.Node) { l.playbook(v, &p.Playbook) }},
		{"baseline", func(_, v *yaml.Node) { l.baseline(v, &p.Baseline) }},
	})
	if root.Kind != yaml.MappingNode {
		return
	}
	if _, ok := keys["version"]; !ok {
		l.errf(root, "policy: missing required key \"version\" (write `version: 1`)")
	} else if !versionSet {
		return
	}
	if p.Response.Mode == ModeEnforce && !p.Response.AllowEmptyApproved {
		l.emptySets(root, keys, p)
	}
}

// emptySets refuses empty approved sets in enforce mode: with nothing approved every send would be
// contained.
func (l *loader) emptySets(root *yaml.Node, keys map[string]*yaml.Node, p *Policy) {
	at := func(section string) *yaml.Node {
		if k, ok := keys[section]; ok {
			return k
		}
		return root
	}
	check := func(section, name string, empty bool) {
		if empty {
			l.errf(at(section), "%s is empty: in enforce mode every send would be contained; list the approved values "+
				"(use [\"*\"] to approve all) or set response.allow_empty_approved: true", name)
		}
	}
	check("network", "network (vpcs and cidrs)", len(p.Network.VPCs) == 0 && len(p.Network.CIDRs) == 0)
	check("senders", "senders.principals", len(p.Senders.Principals) == 0)
	check("senders", "senders.from", len(p.Senders.From) == 0)
	check("senders", "senders.identities", len(p.Senders.Identities) == 0)
	check("senders", "senders.configuration_sets", len(p.Senders.ConfigurationSets) == 0)
	check("recipients", "recipients.domains", len(p.Recipients.Domains) == 0)
}

func (l *loader) network(n *yaml.Node, net *Network) {
	l.mapping(n, "network", []field{
		{"vpcs", func(_, v *yaml.Node) { net.VPCs = l.list(v, "network.vpcs", checkVPCID) }},
		{"cidrs", func(_, v *yaml.Node) {
			for _, s := range l.list(v, "network.cidrs", checkCIDR) {
				pf, _ := parseCIDR(s)
				net.CIDRs = append(net.CIDRs, pf)
			}
		}},
	})
}

func (l *loader) senders(n *yaml.Node, s *Senders) {
	l.mapping(n, "senders", []field{
		{"principals", func(_, v *yaml.Node) { s.Principals = l.list(v, "senders.principals", checkSenderPrincipalPattern) }},
		{"from", func(_, v *yaml.Node) { s.From = l.list(v, "senders.from", checkAddressPattern) }},
		{"identities", func(_, v *yaml.Node) { s.Identities = l.list(v, "senders.identities", checkIdentityPattern) }},
		{"configuration_sets", func(_, v *yaml.Node) {
			s.ConfigurationSets = l.list(v, "senders.configuration_sets", checkConfigSetPattern)
		}},
	})
}

func (l *loader) limits(n *yaml.Node, lim *Limits) {
	l.mapping(n, "limits", []field{
		{"per_principal", func(_, v *yaml.Node) {
			l.mapping(v, "limits.per_principal", []field{
				{"window", func(_, v *yaml.Node) {
					if d, ok := l.duration(v, "limits.per_principal.window"); ok {
						lim.PerPrincipal.Window = d
					}
				}},
				{"max_sends", func(_, v *yaml.Node) {
					if x, ok := l.integer(v, "limits.per_principal.max_sends", 1); ok {
						lim.PerPrincipal.MaxSends = x
					}
				}},
			})
		}},
		{"bounce_rate", func(_, v *yaml.Node) { l.rateLimit(v, "limits.bounce_rate", &lim.BounceRate) }},
		{"complaint_rate", func(_, v *yaml.Node) { l.rateLimit(v, "limits.complaint_rate", &lim.ComplaintRate) }},
		{"unobserved_sends", func(_, v *yaml.Node) {
			const what = "limits.unobserved_sends"
			l.mapping(v, what, []field{
				{"absolute", func(_, v *yaml.Node) {
					if x, ok := l.integer(v, what+".absolute", 0); ok {
						lim.UnobservedSends.Absolute = x
					}
				}},
				{"relative", func(_, v *yaml.Node) {
					if f, ok := l.fraction(v, what+".relative", true); ok {
						lim.UnobservedSends.Relative = f
					}
				}},
				{"settle", func(_, v *yaml.Node) {
					if d, ok := l.duration(v, what+".settle"); ok {
						lim.UnobservedSends.Settle = d
					}
				}},
			})
		}},
		{"account_reputation", func(_, v *yaml.Node) {
			const what = "limits.account_reputation"
			l.mapping(v, what, []field{
				{"bounce_rate", func(_, v *yaml.Node) {
					if f, ok := l.fraction(v, what+".bounce_rate", false); ok {
						lim.AccountReputation.BounceRate = f
					}
				}},
				{"complaint_rate", func(_, v *yaml.Node) {
					if f, ok := l.fraction(v, what+".complaint_rate", false); ok {
						lim.AccountReputation.ComplaintRate = f
					}
				}},
			})
		}},
	})
}

// fraction reads a number in (0, 1] ([0, 1] when zero is allowed).
func (l *loader) fraction(n *yaml.Node, what string, zero bool) (float64, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || (f == 0 && !zero) || f > 1 {
		l.errf(n, "%s: %q must be a fraction in (0, 1], e.g. 0.05 for 5%%", what, s)
		return 0, false
	}
	return f, true
}

func (l *loader) rateLimit(n *yaml.Node, what string, r *RateLimit) {
	l.mapping(n, what, []field{
		{"window", func(_, v *yaml.Node) {
			if d, ok := l.duration(v, what+".window"); ok {
				r.Window = d
			}
		}},
		{"max", func(_, v *yaml.Node) {
			s, ok := l.str(v, what+".max")
			if !ok {
				return
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f <= 0 || f > 1 {
				l.errf(v, "%s.max: %q must be a fraction in (0, 1], e.g. 0.05 for 5%%", what, s)
				return
			}
			r.Max = f
		}},
		{"min_sends", func(_, v *yaml.Node) {
			if x, ok := l.integer(v, what+".min_sends", 0); ok {
				r.MinSends = x
			}
		}},
	})
}

func (l *loader) rules(n *yaml.Node, p *Policy) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, "rules: expected a mapping of rule name to settings, got %s", kindName(n))
		return
	}
	p.Rules = make(map[string]RuleConfig)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !KnownRule(k.Value) {
			l.errf(k, "rules: unknown rule %q (expected one of: %s)", k.Value, strings.Join(RuleNames(), ", "))
			continue
		}
		if _, dup := p.Rules[k.Value]; dup {
			l.errf(k, "rules: duplicate rule %q", k.Value)
			continue
		}
		var rc RuleConfig
		what := "rules." + k.Value
		l.mapping(v, what, []field{
			{"enabled", func(_, v *yaml.Node) {
				if b, ok := l.boolean(v, what+".enabled"); ok {
					rc.Disabled = !b
				}
			}},
			{"severity", func(_, v *yaml.Node) {
				if s, ok := l.severity(v, what+".severity"); ok {
					rc.Severity = s
				}
			}},
		})
		p.Rules[k.Value] = rc
	}
}

func (l *loader) response(n *yaml.Node, r *Response) {
	l.mapping(n, "response", []field{
		{"mode", func(_, v *yaml.Node) {
			s, ok := l.str(v, "response.mode")
			if !ok {
				return
			}
			if s != ModeDryRun && s != ModeEnforce {
				l.errf(v, "response.mode: %q is not %s or %s", s, ModeDryRun, ModeEnforce)
				return
			}
			r.Mode = s
		}},
		{"protected_principals", func(_, v *yaml.Node) {
			r.ProtectedPrincipals = l.list(v, "response.protected_principals", checkPrincipalPattern)
		}},
		{"max_actions_per_hour", func(_, v *yaml.Node) {
			if x, ok := l.integer(v, "response.max_actions_per_hour", 1); ok {
				r.MaxActionsPerHour = int(x)
			}
		}},
		{"allow_empty_approved", func(_, v *yaml.Node) {
			if b, ok := l.boolean(v, "response.allow_empty_approved"); ok {
				r.AllowEmptyApproved = b
			}
		}},
		{"on", func(_, v *yaml.Node) { l.on(v, r) }},
		{"approvers", func(_, v *yaml.Node) { r.Approvers = l.list(v, "response.approvers", checkSlackUserID) }},
		{"approval_expiry", func(_, v *yaml.Node) {
			d, ok := l.duration(v, "response.approval_expiry")
			if !ok {
				return
			}
			if d < MinApprovalExpiry || d > MaxApprovalExpiry {
				l.errf(v, "response.approval_expiry: %s is outside %s to %s", d, MinApprovalExpiry, MaxApprovalExpiry)
				return
			}
			r.ApprovalExpiry = d
		}},
	})
}

func (l *loader) on(n *yaml.Node, r *Response) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, "response.on: expected a mapping of rule name to actions, got %s", kindName(n))
		return
	}
	r.On = make(map[string][]string)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !KnownRule(k.Value) {
			l.errf(k, "response.on: unknown rule %q (expected one of: %s)", k.Value, strings.Join(RuleNames(), ", "))
			continue
		}
		if _, dup := r.On[k.Value]; dup {
			l.errf(k, "response.on: duplicate rule %q", k.Value)
			continue
		}
		r.On[k.Value] = l.list(v, "response.on."+k.Value, func(s string) error {
			if !KnownAction(s) {
				return fmt.Errorf("unknown action (expected one of: %s)", strings.Join(ActionNames(), ", "))
			}
			return nil
		})
	}
}

func (l *loader) alerts(n *yaml.Node, a *Alerts) {
	l.mapping(n, "alerts", []field{
		{"slack_webhook_secret", func(_, v *yaml.Node) {
			if s, ok := l.str(v, "alerts.slack_webhook_secret"); ok {
				a.SlackWebhookSecret = s
			}
		}},
		{"sns_topic", func(_, v *yaml.Node) {
			if s, ok := l.str(v, "alerts.sns_topic"); ok {
				a.SNSTopic = s
			}
		}},
		{"min_severity", func(_, v *yaml.Node) {
			if s, ok := l.severity(v, "alerts.min_severity"); ok {
				a.MinSeverity = s
			}
		}},
	})
}

// --- value checks ---

// The patterns below are compiled on first use (a counted repetition such as {1,253} compiles
// to one state per count, milliseconds of every process start); lengths are checked apart.

var (
	vpcIDRe     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`) })
	principalRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9+=,.@_\-*?]+$`) })
	configSetRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_\-*?]+$`) })
	domainRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9.\-_*?]+$`) })
	localRe     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9!#$%&'+/=^_{|}~.\-*?]+$`) })
)

func checkVPCID(s string) error {
	if !vpcIDRe().MatchString(s) {
		return errors.New("not a VPC id (vpc- followed by 8 or 17 lower-case hex digits)")
	}
	return nil
}

// parseCIDR accepts a prefix or a bare address (a single host).
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zoned addresses are not allowed")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

func checkCIDR(s string) error {
	pf, err := parseCIDR(s)
	if err != nil {
		return errors.New("not a CIDR block (e.g. 10.20.0.0/16, 2001:db8::/32) or IP address")
	}
	if pf.Addr().Is4In6() {
		return errors.New("write IPv4 blocks in IPv4 form")
	}
	if m := pf.Masked(); m != pf {
		return fmt.Errorf("host bits set; did you mean %s?", m)
	}
	return nil
}

// slackUserRe is a Slack user id: U… (or W… on Enterprise Grid), upper-case alphanumerics. A
// name (@alice) or a lower-cased id would never match a click, so it is an error, not a no-op.
var slackUserRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`) })

func checkSlackUserID(s string) error {
	if !slackUserRe().MatchString(s) {
		return errors.New("not a Slack user id (U or W followed by upper-case letters and digits, e.g. U0123ABCD; a display name does not work)")
	}
	return nil
}

// CheckPrincipalPattern reports why s is not a protected-principal pattern the policy file would
// accept (response.protected_principals), so other inputs (the CLI's --protected) get the same rule.
func CheckPrincipalPattern(s string) error { return checkPrincipalPattern(s) }

func checkPrincipalPattern(s string) error {
	if len(s) > 128 || !principalRe().MatchString(s) {
		return errors.New("not an IAM user/role name pattern (letters, digits, +=,.@_- and the wildcards * ?)")
	}
	return nil
}

// iamARNRe is an IAM user or role ARN pattern: it names the account (12 digits, no wildcard, so
// a pattern cannot approve every account's principal of a name by accident).
var iamARNRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(?:user|role)/([A-Za-z0-9+=,.@_\-*?/]+)$`)
})

// checkSenderPrincipalPattern accepts a name pattern (principals of the account sesguard runs
// in) or an IAM ARN pattern (a principal of the account it names, e.g. a delegate sender).
func checkSenderPrincipalPattern(s string) error {
	if IsARNPattern(s) {
		if m := iamARNRe().FindStringSubmatch(s); m == nil || len(m[1]) > 512 {
			return errors.New("not an IAM user/role ARN pattern (arn:aws:iam::123456789012:user/NAME or role/NAME; the account is 12 digits, no wildcard)")
		}
		return nil
	}
	return checkPrincipalPattern(s)
}

func checkConfigSetPattern(s string) error {
	if len(s) > 64 || !configSetRe().MatchString(s) {
		return errors.New("not a configuration set name pattern (letters, digits, _- and the wildcards * ?, at most 64)")
	}
	return nil
}

func checkDomainPattern(s string) error {
	if strings.Contains(s, "@") {
		return errors.New("a domain pattern has no @ (write mail.example.com or *.example.com)")
	}
	if len(s) > 253 || !domainRe().MatchString(s) || strings.Contains(s, "..") {
		return errors.New("not a domain pattern (letters, digits, .-_ and the wildcards * ?)")
	}
	return nil
}

func checkAddressPattern(s string) error {
	if s == "*" {
		return nil
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return errors.New("an address pattern needs an @ (e.g. *@mail.example.com), or is just *")
	}
	if at > 64 || !localRe().MatchString(s[:at]) {
		return errors.New("bad local part (before @)")
	}
	if err := checkDomainPattern(s[at+1:]); err != nil {
		return fmt.Errorf("bad domain part: %w", err)
	}
	return nil
}

func checkIdentityPattern(s string) error {
	if strings.Contains(s, "@") {
		return checkAddressPattern(s)
	}
	return checkDomainPattern(s)
}
