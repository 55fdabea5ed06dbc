package sesevent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current decoder output")

// fixtureFiles lists every file under events/ (slash-separated, relative), bad/ included or not.
func fixtureFiles(t testing.TB, bad bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(eventsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(eventsDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "bad/") == bad {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("walk %s: %v (%d files)", eventsDir, err, len(out))
	}
	return out
}

func decodeFixture(t testing.TB, rel string) []Result {
	t.Helper()
	f, err := os.Open(filepath.Join(eventsDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return collect(DecodeReader(f, rel))
}

// goldenResult is what a golden file records per Result.
type goldenResult struct {
	Ref     string            `json:"ref"`
	Skip    string            `json:"skip,omitempty"`
	Events  []Event           `json:"events,omitempty"`
	APICall *cloudtrail.Event `json:"api_call,omitempty"`
}

// TestGolden: every fixture decodes without error to its golden events (run with -update to rewrite).
func TestGolden(t *testing.T) {
	for _, rel := range fixtureFiles(t, false) {
		t.Run(rel, func(t *testing.T) {
			results := decodeFixture(t, rel)
			if len(results) == 0 {
				t.Fatal("no results")
			}
			got := make([]goldenResult, 0, len(results))
			for _, r := range results {
				checkInvariants(t, r)
				if r.Err != nil {
					t.Errorf("%s: %v", r.Ref, r.Err)
					continue
				}
				if n := r.APICall; n != nil && n.Notice != nil {
					// Raw is the notice's detail: with its source and detail-type it decodes to the same event.
					c, err := cloudtrail.DecodeNotice(r.Raw, cloudtrail.NoticeEnvelope{Source: n.Notice.Source, DetailType: n.EventName, Account: n.Account, Region: n.Region, Time: n.EventTime})
					if err != nil || c.EventName != n.EventName || c.Principal.AccessKeyID != n.Principal.AccessKeyID {
						t.Errorf("%s: Raw does not decode to the same notice: %v", r.Ref, err)
					}
				} else if r.APICall != nil {
					// Raw is the CloudTrail record itself: it decodes on its own to the same call.
					c, err := cloudtrail.Decode(r.Raw, cloudtrail.Envelope{Account: r.APICall.Account, Region: r.APICall.Region})
					if err != nil || c.EventID != r.APICall.EventID {
						t.Errorf("%s: Raw does not decode to the same API call: %v", r.Ref, err)
					}
				} else if r.Skip == "" {
					// Raw is the SES record itself: it decodes on its own to the same message.
					ev, err := DecodeRecord(r.Raw)
					if err != nil || ev.MessageID != r.Events[0].MessageID || ev.Type != r.Events[0].Type {
						t.Errorf("%s: Raw does not decode to the same event: %v", r.Ref, err)
					}
				}
				got = append(got, goldenResult{Ref: r.Ref, Skip: r.Skip, Events: r.Events, APICall: r.APICall})
			}
			have, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			have = append(have, '\n')
			golden := filepath.Join("testdata", "golden", filepath.FromSlash(rel)+".golden.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, have, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/decode/sesevent -run TestGolden -update)", err)
			}
			if !bytes.Equal(have, want) {
				t.Errorf("decoded events differ from %s (run with -update after checking the diff):\n%s", golden, firstDiff(have, want))
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + al[i] + "\n want " + bl[i]
		}
	}
	return "lengths differ: got " + strconv.Itoa(len(al)) + " lines, want " + strconv.Itoa(len(bl))
}

// checkInvariants: exactly one of Err, Skip, Events, APICall; Err is a *DecodeError naming the
// same Ref.
func checkInvariants(t testing.TB, r Result) {
	t.Helper()
	switch {
	case r.Err != nil:
		var de *DecodeError
		if !errors.As(r.Err, &de) || de.Ref != r.Ref {
			t.Errorf("%s: error %T %v is not a *DecodeError for this ref", r.Ref, r.Err, r.Err)
		}
		if r.Skip != "" || r.Events != nil || r.Raw != nil || r.APICall != nil {
			t.Errorf("%s: error result also carries skip/events/raw", r.Ref)
		}
	case r.Skip != "":
		if r.Events != nil || r.Raw != nil || r.APICall != nil {
			t.Errorf("%s: skipped result carries events", r.Ref)
		}
	case r.APICall != nil:
		if r.Events != nil || len(r.Raw) == 0 {
			t.Errorf("%s: API call with %d events and %d raw bytes", r.Ref, len(r.Events), len(r.Raw))
		}
	default:
		if len(r.Events) != 1 || len(r.Raw) == 0 {
			t.Errorf("%s: success with %d events and %d raw bytes", r.Ref, len(r.Events), len(r.Raw))
		}
	}
	if r.Ref == "" {
		t.Error("result without Ref")
	}
}

// TestBadFixtures: each events/bad file yields exactly the outcomes in testdata/bad/<file>.err;
// only the named records fail.
func TestBadFixtures(t *testing.T) {
	files := fixtureFiles(t, true)
	expectations, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.err"))
	if len(expectations) != len(files) {
		t.Errorf("%d bad fixtures but %d .err files", len(files), len(expectations))
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			name := strings.TrimPrefix(rel, "bad/")
			want := readExpectations(t, filepath.Join("testdata", "bad", name+".err"))
			f, err := os.Open(filepath.Join(eventsDir, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := collect(DecodeReader(f, name))
			if len(got) != len(want) {
				t.Fatalf("got %d results, want %d: %v", len(got), len(want), outcomes(got))
			}
			failures := 0
			for i, r := range got {
				checkInvariants(t, r)
				w := want[i]
				if r.Ref != w[0] {
					t.Errorf("result %d: ref %q, want %q", i, r.Ref, w[0])
				}
				switch exp := w[1]; {
				case exp == "ok":
					if r.Err != nil || (len(r.Events) != 1 && r.APICall == nil) {
						t.Errorf("%s: want ok, got %s", r.Ref, outcome(r))
					}
				case exp == "skip":
					if r.Skip == "" {
						t.Errorf("%s: want skip, got %s", r.Ref, outcome(r))
					}
				case strings.HasPrefix(exp, "error: "):
					failures++
					if r.Err == nil || !strings.Contains(r.Err.Error(), strings.TrimPrefix(exp, "error: ")) {
						t.Errorf("%s: want %s, got %s", r.Ref, exp, outcome(r))
					}
				default:
					t.Fatalf("bad expectation %q", exp)
				}
			}
			if failures == 0 {
				t.Error("a bad fixture must expect at least one error")
			}
		})
	}
}

func readExpectations(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ref, exp, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: want <ref>TAB<expectation>: %q", path, line)
		}
		out = append(out, [2]string{ref, exp})
	}
	return out
}

// TestEveryTypeInEveryEnvelope checks the corpus really covers the ten event types in each
// envelope (legacy notifications only travel through SNS).
func TestEveryTypeInEveryEnvelope(t *testing.T) {
	envelopes := map[string]func(rel string) bool{
		"bare record":             func(r string) bool { return strings.HasPrefix(r, "record/") },
		"SNS → Lambda":            func(r string) bool { return strings.HasPrefix(r, "sns/") },
		"EventBridge → Lambda":    func(r string) bool { return strings.HasPrefix(r, "eventbridge/") },
		"SQS, SNS body (non-raw)": func(r string) bool { return strings.HasPrefix(r, "sqs/sns-") },
		"SQS raw":                 func(r string) bool { return strings.HasPrefix(r, "sqs/raw-") },
		"SQS EventBridge body":    func(r string) bool { return strings.HasPrefix(r, "sqs/eventbridge-") },
		"Firehose transformation": func(r string) bool { return strings.HasPrefix(r, "firehose/") },
		"Kinesis":                 func(r string) bool { return strings.HasPrefix(r, "kinesis/") },
		"NDJSON archive":          func(r string) bool { return strings.HasSuffix(r, ".ndjson") },
		"NDJSON archive, gzip":    func(r string) bool { return strings.HasSuffix(r, ".ndjson.gz") },
	}
	all := []Type{TypeSend, TypeReject, TypeBounce, TypeComplaint, TypeDelivery, TypeOpen, TypeClick, TypeRenderingFailure, TypeDeliveryDelay, TypeSubscription}
	files := fixtureFiles(t, false)
	for env, match := range envelopes {
		seen := map[Type]bool{}
		for _, rel := range files {
			if !match(rel) {
				continue
			}
			for _, r := range decodeFixture(t, rel) {
				for _, ev := range r.Events {
					seen[ev.Type] = true
				}
			}
		}
		for _, ty := range all {
			if !seen[ty] {
				t.Errorf("%s: no %q fixture", env, ty)
			}
		}
	}
}

// TestTypedDecodersMatchDecodeAny: a Lambda handler unmarshalling into aws-lambda-go's types and
// calling the typed decoder gets exactly what DecodeAny sniffs from the same file.
func TestTypedDecodersMatchDecodeAny(t *testing.T) {
	for _, rel := range fixtureFiles(t, false) {
		dir := strings.SplitN(rel, "/", 2)[0]
		data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		var typed []Result
		switch dir {
		case "sqs":
			var ev events.SQSEvent
			mustUnmarshal(t, data, &ev)
			typed = DecodeSQS(ev)
		case "sns":
			var ev events.SNSEvent
			mustUnmarshal(t, data, &ev)
			typed = DecodeSNS(ev)
		case "eventbridge":
			var ev events.CloudWatchEvent
			mustUnmarshal(t, data, &ev)
			typed = []Result{DecodeEventBridge(ev)}
		case "firehose":
			var ev events.KinesisFirehoseEvent
			mustUnmarshal(t, data, &ev)
			typed = DecodeFirehose(ev)
		case "kinesis":
			var ev events.KinesisEvent
			mustUnmarshal(t, data, &ev)
			typed = DecodeKinesis(ev)
		default:
			continue
		}
		if sniffed := DecodeAny(data, rel); !reflect.DeepEqual(typed, sniffed) {
			t.Errorf("%s: typed decoder and DecodeAny disagree:\n%v\n%v", rel, outcomes(typed), outcomes(sniffed))
		}
	}
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// TestScenarioFixtures pins what detection relies on for the named scenarios, independently of
// the golden files.
func TestScenarioFixtures(t *testing.T) {
	type want struct {
		caller, op, ip  string
		private, legacy bool
	}
	tests := map[string]want{
		"send-smtp-vpc":        {caller: "ses-smtp-user.20260112-101500", op: "SendRawEmail", ip: "10.20.3.41", private: true},
		"send-api-task-role":   {caller: "mailer-task-role", op: "SendEmail", ip: "10.20.7.12", private: true},
		"send-api-public-role": {caller: "ci-deploy-role", op: "SendEmail", ip: "203.0.113.77"},
		"send-root":            {caller: "root", op: "SendEmail", ip: "192.0.2.44"},
		"send-no-caller-tags":  {},
		"legacy-bounce":        {caller: "ses-smtp-user.20260112-101500", ip: "10.20.3.41", private: true, legacy: true},
		"legacy-delivery":      {caller: "mailer-task-role", ip: "10.20.7.12", private: true, legacy: true},
	}
	for name, w := range tests {
		data, err := os.ReadFile(filepath.Join(eventsDir, "record", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := DecodeRecord(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev.CallerIdentity != w.caller || ev.Operation != w.op || ev.Legacy != w.legacy {
			t.Errorf("%s: caller %q op %q legacy %v", name, ev.CallerIdentity, ev.Operation, ev.Legacy)
		}
		if w.ip == "" {
			if ev.SourceIP.IsValid() {
				t.Errorf("%s: source ip %v, want invalid (unknown)", name, ev.SourceIP)
			}
		} else if ev.SourceIP != netip.MustParseAddr(w.ip) || ev.SourceIP.IsPrivate() != w.private {
			t.Errorf("%s: source ip %v", name, ev.SourceIP)
		}
		if ev.Account != "111122223333" || ev.Region != "eu-west-1" || ev.Identity != "mail.example.com" {
			t.Errorf("%s: account %q region %q identity %q", name, ev.Account, ev.Region, ev.Identity)
		}
		if !ev.Legacy && ev.ConfigurationSet != "prod-outbound" {
			t.Errorf("%s: configuration set %q", name, ev.ConfigurationSet)
		}
	}
	// The encoded-word display name is decoded and kept apart from the address.
	ev, err := DecodeRecord(mustRead(t, filepath.Join(eventsDir, "record", "send-api-task-role.json")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ev.From, []Address{{Name: "Example Støtte", Address: "noreply@mail.example.com"}}) {
		t.Errorf("from %+v", ev.From)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
