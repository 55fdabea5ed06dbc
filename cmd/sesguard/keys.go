package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/ops/forensics"
	"github.com/sesguard/sesguard/shared/ops/keyaudit"
)

const keysUsage = `usage: sesguard keys [--policy F] [--ses-only] [--format table|json|csv] [--strict]

List IAM users' access keys with status, creation date and last use (date, service, Region —
IAM keeps only the LAST service a key was used for). Flags:
  smtp-user             the user holds SES SMTP credentials (name ses-smtp-user.* or the
                        AmazonSesSendingAccess policy)
  unapproved-sender     last used for ses / ses-smtp by a user not in senders.principals
  unapproved-smtp-user  an SMTP user not in senders.principals (it can send whenever it likes)
The unapproved-* flags need a policy: --policy, else ./sesguard.yaml; without one they are not
computed. AWS credentials and Region come from the standard SDK chain (AWS_PROFILE, ...).
Needs iam:ListUsers, iam:ListAccessKeys, iam:GetAccessKeyLastUsed, iam:ListUserPolicies and
iam:ListAttachedUserPolicies.

Exit status: 0, or 2 with --strict when any key carries an unapproved-* flag; 1 on errors.

flags:
`

// runKeys prints the access-key inventory.
func runKeys(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "keys", keysUsage)
	policyPath := fs.String("policy", "", "policy file (default ./sesguard.yaml when present)")
	sesOnly := fs.Bool("ses-only", false, "only keys last used for ses/ses-smtp, and SMTP users' keys")
	format := fs.String("format", "table", "output format: table, json (one object per line) or csv")
	strict := fs.Bool("strict", false, "exit 2 when a key is flagged unapproved-*")
	pathPrefix := fs.String("path-prefix", "", "only users under this IAM path, e.g. /ses-smtp/")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "keys: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		fmt.Fprintf(e.stderr, "keys: --format %q: want table, json or csv\n", *format)
		return exitUsage
	}
	pol, err := opLoadPolicy(e, *policyPath)
	if err != nil {
		printPolicyErr(e.stderr, "keys", err)
		return exitUsage
	}
	opt := keyaudit.Options{PathPrefix: *pathPrefix}
	if pol != nil {
		opt.Approver = pol
	} else {
		fmt.Fprintln(e.stderr, "keys: no policy (--policy or ./sesguard.yaml): unapproved-* flags not computed")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "keys: AWS config: %v\n", err)
		return exitUsage
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // IAM is global; the SDK still needs a Region to pick the endpoint
	}
	keys, err := keyaudit.Audit(ctx, iam.NewFromConfig(cfg), opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "keys: %v\n", err)
		return exitUsage
	}
	if *sesOnly {
		kept := keys[:0]
		for _, k := range keys {
			if k.UsedForSES() || k.SMTPUser {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	flagged := 0
	for _, k := range keys {
		if k.Flagged() {
			flagged++
		}
	}
	switch *format {
	case "json":
		err = writeKeysJSON(e.stdout, keys)
	case "csv":
		err = writeKeysCSV(e.stdout, keys)
	default:
		err = writeKeysTable(e.stdout, keys, flagged)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "keys: write: %v\n", err)
		return exitUsage
	}
	if *strict && flagged > 0 {
		return exitInput
	}
	return exitOK
}

func keyDate(t time.Time, layout string) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(layout)
}

func flagList(k keyaudit.Key) string {
	s := make([]string, len(k.Flags))
	for i, f := range k.Flags {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeKeysTable(w io.Writer, keys []keyaudit.Key, flagged int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tACCESS KEY\tSTATUS\tCREATED\tLAST USED (UTC)\tSERVICE\tREGION\tFLAGS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.User, k.AccessKeyID, k.Status,
			keyDate(k.Created, "2006-01-02"), keyDate(k.LastUsed, "2006-01-02 15:04"),
			dash(k.Service), dash(k.Region), dash(flagList(k)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d key(s), %d flagged unapproved\n", len(keys), flagged)
	return err
}

func writeKeysJSON(w io.Writer, keys []keyaudit.Key) error {
	enc := json.NewEncoder(w)
	for _, k := range keys {
		if err := enc.Encode(k); err != nil {
			return err
		}
	}
	return nil
}

func writeKeysCSV(w io.Writer, keys []keyaudit.Key) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"user", "access_key_id", "status", "created", "last_used", "service", "region", "smtp_user", "smtp_reason", "flags"})
	for _, k := range keys {
		lu := ""
		if !k.LastUsed.IsZero() {
			lu = k.LastUsed.UTC().Format(time.RFC3339)
		}
		_ = cw.Write(forensics.CSVSafe([]string{k.User, k.AccessKeyID, k.Status, k.Created.UTC().Format(time.RFC3339), lu,
			k.Service, k.Region, fmt.Sprint(k.SMTPUser), k.SMTPReason, flagList(k)}))
	}
	cw.Flush()
	return cw.Error()
}
