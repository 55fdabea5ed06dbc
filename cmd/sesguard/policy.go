package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/sesguard/sesguard/shared/policy"
)

const policyUsage = `usage: sesguard policy validate FILE
       sesguard policy render FILE --kind identity --identity-arn ARN
       sesguard policy render FILE --kind smtp-user
       sesguard policy render FILE --kind endpoint-sg [--vpc-cidrs "vpc-a=10.0.0.0/16;vpc-b=..."]
       sesguard policy suggest PATH... [--since T] [--until T] [-o FILE] [--network CIDR,...]
       sesguard policy preflight --policy FILE PATH...

validate  load the policy and report every mistake with file:line:column (exit 1 when invalid).
render    print the preventive control rendered from the policy, as JSON. The same functions
          (shared/policy) render what the CDK app deploys, so the output is byte for byte what
          goes into the stack:
            identity     the SES identity (sending-authorization) policy for --identity-arn
            smtp-user    the IAM policy for SES SMTP users
            endpoint-sg  the ingress rules of the SMTP VPC endpoint's security group; VPC ids
                         need their CIDR blocks from --vpc-cidrs or $SESGUARD_VPC_CIDRS
suggest   write a reviewed-by-a-person policy from archived history (sesguard policy suggest -h).
preflight list every archived send the rendered preventive policies would have denied
          (sesguard policy preflight -h); exit 0 only when none.
FILE may be - for stdin.
`

// runPolicy dispatches policy validate / policy render.
func runPolicy(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, policyUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(e.stderr, policyUsage)
		return exitOK
	case "validate":
		return runPolicyValidate(e, args[1:])
	case "render":
		return runPolicyRender(e, args[1:])
	case "suggest":
		return runPolicySuggest(ctx, e, args[1:])
	case "preflight":
		return runPolicyPreflight(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "policy: unknown subcommand %q (want validate, render, suggest or preflight)\n\n%s", args[0], policyUsage)
	return exitUsage
}

func runPolicyValidate(e env, args []string) int {
	fs := opFlagSet(e, "policy validate", policyUsage+"\nflags:\n")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "policy validate: give exactly one FILE (or - for stdin)")
		return exitUsage
	}
	p, err := opReadPolicy(e, rest[0])
	if err != nil {
		printPolicyErr(e.stderr, "policy validate", err)
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "%s: valid (version %d, mode %s)\n", p.Name, p.Version, p.Response.Mode)
	fmt.Fprintf(e.stdout, "  network:            %d VPC(s), %d CIDR block(s)\n", len(p.Network.VPCs), len(p.Network.CIDRs))
	fmt.Fprintf(e.stdout, "  senders:            %d principal, %d from, %d identity, %d configuration-set pattern(s)\n",
		len(p.Senders.Principals), len(p.Senders.From), len(p.Senders.Identities), len(p.Senders.ConfigurationSets))
	fmt.Fprintf(e.stdout, "  recipients:         %d domain pattern(s)\n", len(p.Recipients.Domains))
	fmt.Fprintf(e.stdout, "  protected:          %s\n", orNone(p.Response.ProtectedPrincipals))
	if len(p.Network.VPCs) > 0 {
		fmt.Fprintf(e.stdout, "  note: VPC ids %s are resolved to CIDR blocks at deploy time (or via $%s)\n",
			strings.Join(p.Network.VPCs, ", "), policy.EnvVPCCIDRs)
	}
	return exitOK
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func runPolicyRender(e env, args []string) int {
	fs := opFlagSet(e, "policy render", policyUsage+"\nflags:\n")
	kind := fs.String("kind", "", "what to render: identity, smtp-user or endpoint-sg (required)")
	identityArn := fs.String("identity-arn", "", "SES identity ARN for --kind identity, e.g. arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com")
	vpcCIDRs := fs.String("vpc-cidrs", "", "VPC blocks for --kind endpoint-sg: \"vpc-id=cidr,cidr;vpc-id=cidr\" (default $"+policy.EnvVPCCIDRs+")")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "policy render: give exactly one FILE (or - for stdin)")
		return exitUsage
	}
	switch *kind {
	case "identity", "smtp-user", "endpoint-sg":
	case "":
		fmt.Fprintln(e.stderr, "policy render: --kind is required (identity, smtp-user or endpoint-sg)")
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "policy render: --kind %q: want identity, smtp-user or endpoint-sg\n", *kind)
		return exitUsage
	}
	if *kind == "identity" && *identityArn == "" {
		fmt.Fprintln(e.stderr, "policy render: --kind identity needs --identity-arn")
		return exitUsage
	}
	p, err := opReadPolicy(e, rest[0])
	if err != nil {
		printPolicyErr(e.stderr, "policy render", err)
		return exitUsage
	}
	var out []byte
	switch *kind {
	case "identity":
		out, err = policy.RenderIdentityPolicy(p, *identityArn)
	case "smtp-user":
		out, err = policy.RenderSMTPUserPolicy(p)
	case "endpoint-sg":
		if rerr := opResolveVPCs(e, "policy render", p, *vpcCIDRs); rerr != nil {
			fmt.Fprintf(e.stderr, "policy render: %v\n", rerr)
			return exitUsage
		}
		var rules []policy.SGRule
		if rules, err = policy.RenderEndpointSGRules(p); err == nil {
			out, err = json.MarshalIndent(rules, "", "  ")
			out = append(out, '\n')
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "policy render: %v\n", err)
		return exitUsage
	}
	if _, err := e.stdout.Write(out); err != nil {
		fmt.Fprintf(e.stderr, "policy render: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// printPolicyErr prints every policy error on its own line.
func printPolicyErr(w io.Writer, cmd string, err error) {
	var es policy.Errors
	if errors.As(err, &es) {
		fmt.Fprintf(w, "%s: %d error(s):\n", cmd, len(es))
		for _, pe := range es {
			fmt.Fprintf(w, "  %s\n", pe.Error())
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", cmd, err)
}

// opReadPolicy loads the named policy file; "-" reads stdin.
func opReadPolicy(e env, path string) (*policy.Policy, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(io.LimitReader(e.stdin, 4<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return policy.Load(data, name)
}

// opDefaultPolicyFile is the policy the operator commands use when --policy is not given.
const opDefaultPolicyFile = "sesguard.yaml"

// opLoadPolicy loads --policy, else ./sesguard.yaml when present. It returns nil (and no error)
// when neither exists: operator commands then compute no approval flags rather than judging a
// real account against the embedded example.
func opLoadPolicy(e env, path string) (*policy.Policy, error) {
	if path != "" {
		return opReadPolicy(e, path)
	}
	if _, err := os.Stat(opDefaultPolicyFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	return opReadPolicy(e, opDefaultPolicyFile)
}

// opResolveVPCs fills the policy's VPC blocks from $SESGUARD_VPC_CIDRS (or spec when set) and
// warns on stderr about VPC ids left unresolved.
func opResolveVPCs(e env, cmd string, p *policy.Policy, spec string) error {
	if spec == "" {
		spec = e.getenv(policy.EnvVPCCIDRs)
	}
	blocks, err := policy.ParseVPCCIDRs(spec)
	if err != nil {
		return err
	}
	p.Resolve(blocks)
	if un := p.Unresolved(); len(un) > 0 {
		fmt.Fprintf(e.stderr, "%s: warning: VPC %s has no known CIDR blocks (give --vpc-cidrs or $%s); only network.cidrs count as approved\n",
			cmd, strings.Join(un, ", "), policy.EnvVPCCIDRs)
	}
	return nil
}
