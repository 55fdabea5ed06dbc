package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// costConfig is what `bench -cost` simulates: the ingest queue's event source mapping (batch
// size, batching window), which SES event types reach it, and the stream.
type costConfig struct {
	messages int
	seed     uint64
	batch    int
	window   time.Duration
	// types are the SES event types the EventBridge rule routes to the ingest queue ("all": every
	// type, as before issue 21). The Firehose archive always gets every type.
	types []string
	dir   string
}

// detailTypes maps SES event types to their EventBridge detail-types.
var detailTypes = map[string]string{
	"Send": "Email Sent", "Delivery": "Email Delivered", "Bounce": "Email Bounced",
	"Complaint": "Email Complaint Received", "Reject": "Email Rejected", "DeliveryDelay": "Email Delivery Delayed",
	"Rendering Failure": "Email Rendering Failed", "Open": "Email Opened", "Click": "Email Clicked",
}

// usage is what one scenario consumed, summed over its batches.
type usage struct {
	sends, messages, inPath, batches int
	byType                           map[string]int
	requests                         map[string]int // "service:Operation" → count (ingest and respond)
	sqsChunks                        int            // SQS requests billed (64 KB chunks), modelled from the ESM
	firehoseBytes                    int64          // billed bytes (5 KB rounding per record)
	logBytes                         map[string]int64
	cpu                              map[string]time.Duration
	billedMs                         map[string]float64
	invocations                      map[string]int
	findings, publishes              int
	respondErrors                    int
}

// requestCounter counts AWS requests by service and operation as the moto proxy sees them.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) observe(_ http.ResponseWriter, r *http.Request) bool {
	op := awstest.SigningService(r) + ":" + awstest.Operation(r)
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
	return false
}

func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.n)
	clear(c.n)
	return out
}

// benchTB lets the awstest helpers (written for tests) run in this command: Fatal panics with a
// value costRun recovers into an error; cleanups run at close.
type benchTB struct {
	testing.TB
	cleanups []func()
}

type tbFailure struct{ msg string }

func (t *benchTB) Helper()                   {}
func (t *benchTB) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *benchTB) Fatalf(f string, a ...any) { panic(tbFailure{fmt.Sprintf(f, a...)}) }
func (t *benchTB) Fatal(a ...any)            { panic(tbFailure{fmt.Sprint(a...)}) }
func (t *benchTB) Skip(a ...any)             { panic(tbFailure{fmt.Sprint(a...)}) }
func (t *benchTB) Logf(string, ...any)       {}
func (t *benchTB) Name() string              { return "bench-cost" }
func (t *benchTB) close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// costRun builds ingest and respond, starts moto and runs the realistic and the flood scenario.
func costRun(ctx context.Context, c costConfig, stdout, stderr io.Writer) (err error) {
	// awstest consults testing.Short/Verbose, which need the testing flags registered and parsed.
	testing.Init()
	_ = flag.CommandLine.Parse(nil)
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", f.msg)
		}
	}()
	fmt.Fprintln(stderr, "bench: building ingest and respond")
	bins, err := lambdatest.Build(ctx, c.dir, "github.com/sesguard/sesguard/functions/ingest", "github.com/sesguard/sesguard/functions/respond")
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "bench: starting moto")
	m := awstest.Start(tb)
	rc := &requestCounter{n: map[string]int{}}
	m.Handle(rc.observe)

	fmt.Fprintf(stdout, "\ncost: ingest queue batch size %d, batching window %s, event types routed to ingest: %s; %d messages at 5 sends/s (sescorpus seed %d)\n",
		c.batch, c.window, strings.Join(c.types, ", "), c.messages, c.seed)
	var results [2]bill
	for i, sc := range []struct{ name, policy string }{{"realistic", sescorpus.Policy}, {"flood", sescorpus.FloodPolicy}} {
		m.Reset(tb)
		fmt.Fprintf(stderr, "bench: cost scenario %s\n", sc.name)
		u, err := costScenario(ctx, tb, m, rc, bins, c, sc.policy)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		results[i] = price(u)
		printUsage(stdout, sc.name, u, results[i])
	}
	r, f := results[0], results[1]
	fmt.Fprintf(stdout, "\ncost: $%.2f per million sends (realistic: %s; %.1f %% of SES's $%.0f; flood $%.2f)\n",
		r.total(), r.services(), 100*r.total()/(sesPricePerThousand*1000), sesPricePerThousand*1000, f.total())
	return nil
}

func costScenario(ctx context.Context, tb *benchTB, m *awstest.Moto, rc *requestCounter, bins map[string]string, c costConfig, policy string) (usage, error) {
	u := usage{byType: map[string]int{}, requests: map[string]int{}, logBytes: map[string]int64{}, cpu: map[string]time.Duration{},
		billedMs: map[string]float64{}, invocations: map[string]int{}}
	const table = "sesguard-state"
	m.SeedStateTable(tb, table)
	findings := m.SeedTopicQueue(tb, "sesguard-findings", "sesguard-respond", true)
	pol := filepath.Join(c.dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
		return u, err
	}
	env := maps.Clone(m.Env())
	maps.Copy(env, map[string]string{
		"SESGUARD_POLICY": pol, "SESGUARD_TABLE": table, "SESGUARD_FINDINGS_TOPIC_ARN": findings.TopicARN,
		"SESGUARD_ALERTS_TOPIC_ARN": findings.TopicARN, "SESGUARD_MODE": "dry-run",
	})
	ingest, err := lambdatest.New(lambdatest.Options{Binary: bins["ingest"], FunctionName: "sesguard-ingest", Env: env, Timeout: 30 * time.Second, MemoryMB: ingestMemoryMB})
	if err != nil {
		return u, err
	}
	defer ingest.Close()
	respond, err := lambdatest.New(lambdatest.Options{Binary: bins["respond"], FunctionName: "sesguard-respond", Env: env, Timeout: 60 * time.Second, MemoryMB: respondMemoryMB})
	if err != nil {
		return u, err
	}
	defer respond.Close()
	// Cold starts outside the figures.
	for _, rt := range []*lambdatest.Runtime{ingest, respond} {
		if _, fnErr, err := rt.Invoke(ctx, []byte(`{"Records":[]}`)); err != nil || fnErr != nil {
			return u, fmt.Errorf("warm-up: %v %v\n%s", err, fnErr, rt.Logs())
		}
	}
	rc.take()

	var corpus bytes.Buffer
	// Messages have 2-4 records; generate enough and cut at the message count below.
	// Mid-hour: a run of minutes starting on the hour would read every volume bucket's
	// predecessor from the previous hour's counter item, which a steady stream does for one
	// bucket in twelve.
	start := time.Date(2026, 5, 4, 0, 20, 0, 0, time.UTC)
	if _, err := sescorpus.Write(&corpus, sescorpus.Options{Seed: c.seed, Start: start, Records: c.messages*2 + c.messages/10 + 10}); err != nil {
		return u, err
	}
	route := map[string]bool{}
	for _, t := range c.types {
		route[t] = true
	}
	type queued struct {
		at   time.Duration
		body string
	}
	var q []queued
	const interval = 200 * time.Millisecond // sescorpus default: 5 sends a second
	for line := range bytes.Lines(corpus.Bytes()) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		typ := eventType(line)
		if typ == "Send" {
			if u.messages == c.messages {
				break
			}
			u.messages++
			u.sends++
		}
		u.byType[typ]++
		u.firehoseBytes += int64((len(line) + 1 + firehoseRecordRound - 1) / firehoseRecordRound * firehoseRecordRound)
		if !route["all"] && !route[typ] {
			continue
		}
		id := fmt.Sprintf("eb-%d", len(q))
		body := `{"version":"0","id":"` + id + `","detail-type":"` + detailTypes[typ] + `","source":"aws.ses","account":"111122223333","time":"2026-05-04T00:00:00Z","region":"eu-west-1","resources":[],"detail":` + string(line) + `}`
		// Records arrive in message order; feedback arrives later than its Send, which only
		// shifts it by a window here.
		q = append(q, queued{at: time.Duration(u.messages) * interval, body: body})
		u.sqsChunks += chunks(len(body), sqsChunk) // EventBridge → SQS SendMessage
	}
	u.inPath = len(q)

	// The event source mapping: a batch closes at batch size or when the window since its first
	// message has passed.
	cpu0 := procCPU(bins["ingest"])
	for i := 0; i < len(q); {
		j := i
		for j < len(q) && j-i < c.batch && q[j].at-q[i].at < c.window {
			j++
		}
		var ev events.SQSEvent
		size := 0
		for k := i; k < j; k++ {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: fmt.Sprintf("m-%d", k), ReceiptHandle: "rh", Body: q[k].body, EventSource: "aws:sqs",
				EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:ingest", AWSRegion: "us-east-1",
				Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1777852800000"},
			})
			size += len(q[k].body)
		}
		// ReceiveMessage and DeleteMessageBatch per 10 messages, each billed per 64 KB chunk.
		for k := i; k < j; k += sqsMaxReceive {
			n := 0
			for x := k; x < min(j, k+sqsMaxReceive); x++ {
				n += len(q[x].body)
			}
			u.sqsChunks += chunks(n, sqsChunk) + 1
		}
		payload, _ := json.Marshal(ev)
		off := ingest.LogOffset()
		out, fnErr, err := ingest.Invoke(ctx, payload)
		if err != nil || fnErr != nil {
			return u, fmt.Errorf("ingest batch %d: %v %v\n%s", u.batches, err, fnErr, ingest.LogsSince(off))
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) > 0 {
			return u, fmt.Errorf("ingest batch %d: failures %v (%v)\n%s", u.batches, resp.BatchItemFailures, err, ingest.LogsSince(off))
		}
		u.logBytes["ingest"] += int64(len(ingest.LogsSince(off))) + platformLogBytes
		reqs := rc.take()
		u.billedMs["ingest"] += roundTrips(reqs) * assumedRoundTripMs
		for k, v := range reqs {
			u.requests[k] += v
		}
		u.batches++
		u.invocations["ingest"]++
		i = j
	}
	u.cpu["ingest"] = procCPU(bins["ingest"]) - cpu0
	u.billedMs["ingest"] += float64(u.cpu["ingest"].Microseconds()) / 1000
	u.publishes = u.requests["sns:Publish"]

	// Findings: SNS → the respond queue (the actionable ones, by the subscription filter) and
	// the notify queue; respond runs on batches of five, as the infra configures it.
	u.sqsChunks += 3 * u.publishes // notify queue: send, receive, delete (notify itself not run)
	msgs := drain(ctx, m, findings.QueueURL)
	u.findings = len(msgs)
	rc.take() // the drain is the harness, not the pipeline
	cpu0 = procCPU(bins["respond"])
	for i := 0; i < len(msgs); i += 5 {
		var ev events.SQSEvent
		for k := i; k < min(len(msgs), i+5); k++ {
			if !strings.Contains(msgs[k], `"actions":["`) {
				continue
			}
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("f-%d", k), Body: msgs[k], EventSource: "aws:sqs",
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
			u.sqsChunks += 3
		}
		if len(ev.Records) == 0 {
			continue
		}
		payload, _ := json.Marshal(ev)
		off := respond.LogOffset()
		if _, fnErr, err := respond.Invoke(ctx, payload); err != nil {
			return u, fmt.Errorf("respond: %w", err)
		} else if fnErr != nil {
			u.respondErrors++
		}
		u.logBytes["respond"] += int64(len(respond.LogsSince(off))) + platformLogBytes
		reqs := rc.take()
		u.billedMs["respond"] += roundTrips(reqs) * assumedRoundTripMs
		for k, v := range reqs {
			u.requests[k] += v
		}
		u.invocations["respond"]++
	}
	u.cpu["respond"] = procCPU(bins["respond"]) - cpu0
	u.billedMs["respond"] += float64(u.cpu["respond"].Microseconds()) / 1000
	return u, nil
}

// roundTrips estimates the sequential AWS round trips of an invocation: dedup marks go 16 at a
// time (detect.DynamoState.MarkConcurrency), everything else one after another.
func roundTrips(reqs map[string]int) float64 {
	marks, other := 0, 0
	for k, v := range reqs {
		if k == "dynamodb:PutItem" {
			marks += v
		} else {
			other += v
		}
	}
	return float64(other + chunks(marks, markConcurrency))
}

func chunks(n, size int) int { return max(1, (n+size-1)/size) }

func eventType(rec []byte) string {
	const p = `{"eventType":"`
	if !bytes.HasPrefix(rec, []byte(p)) {
		return ""
	}
	rest := rec[len(p):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

func drain(ctx context.Context, m *awstest.Moto, url string) []string {
	c := sqs.NewFromConfig(m.Config(&benchTB{}))
	var out []string
	for {
		r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil || len(r.Messages) == 0 {
			return out
		}
		for _, msg := range r.Messages {
			out = append(out, aws.ToString(msg.Body))
			_, _ = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle})
		}
	}
}

// procCPU is the user+system CPU of this process's live child running binary (Linux /proc;
// 0 elsewhere). Clock ticks are 1/100 s on Linux.
func procCPU(binary string) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := strconv.Itoa(os.Getpid())
	var total time.Duration
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || exe != binary {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the ")" of comm: state ppid ... utime(14) stime(15).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 || f[1] != self {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

// bill is the cost of a scenario per million sends, by service.
type bill struct {
	byService map[string]float64
}

var serviceOrder = []string{"DynamoDB", "SQS", "Lambda", "Firehose", "CloudWatch Logs", "SNS"}

func (b bill) total() float64 {
	t := 0.0
	for _, v := range b.byService {
		t += v
	}
	return t
}

func (b bill) services() string {
	var parts []string
	for _, s := range serviceOrder {
		parts = append(parts, fmt.Sprintf("%s $%.2f", s, b.byService[s]))
	}
	return strings.Join(parts, ", ")
}

func price(u usage) bill {
	per := 1e6 / float64(u.sends)
	b := bill{byService: map[string]float64{}}
	for k, v := range u.requests {
		switch k {
		case "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem":
			b.byService["DynamoDB"] += float64(v) * priceDynamoWRU * per // items < 1 KB: 1 WRU each
		case "dynamodb:GetItem":
			b.byService["DynamoDB"] += float64(v) * priceDynamoRRU * per // consistent, < 4 KB: 1 RRU
		case "sns:Publish":
			b.byService["SNS"] += float64(v) * priceSNSPublish * per
		}
	}
	b.byService["SQS"] = float64(u.sqsChunks) * priceSQSRequest * per
	for fn, inv := range u.invocations {
		mem := float64(ingestMemoryMB)
		if fn == "respond" {
			mem = respondMemoryMB
		}
		b.byService["Lambda"] += (float64(inv)*priceLambdaRequest + u.billedMs[fn]/1000*mem/1024*priceLambdaGBSecond) * per
	}
	b.byService["Firehose"] = float64(u.firehoseBytes) / gigabyte * priceFirehoseGB * per
	var logs int64
	for _, v := range u.logBytes {
		logs += v
	}
	b.byService["CloudWatch Logs"] = float64(logs) / gigabyte * priceLogsGB * per
	return b
}

func printUsage(w io.Writer, name string, u usage, b bill) {
	fmt.Fprintf(w, "\n%s: %d sends (%s), %d records to ingest in %d batches (%.1f per batch), %d findings published, %d respond invocations (%d failed)\n",
		name, u.sends, typeMix(u.byType), u.inPath, u.batches, float64(u.inPath)/float64(max(u.batches, 1)), u.publishes, u.invocations["respond"], u.respondErrors)
	fmt.Fprintln(w, "| AWS request (ingest + respond) | per Send |")
	fmt.Fprintln(w, "|---|---|")
	keys := slices.Sorted(maps.Keys(u.requests))
	for _, k := range keys {
		fmt.Fprintf(w, "| %s | %.3f |\n", k, float64(u.requests[k])/float64(u.sends))
	}
	fmt.Fprintf(w, "| SQS requests billed (64 KB chunks, modelled) | %.3f |\n", float64(u.sqsChunks)/float64(u.sends))
	fmt.Fprintf(w, "log bytes per ingest batch %.0f, ingest CPU per record %.1f µs (respond CPU %s over %d invocations)\n",
		float64(u.logBytes["ingest"])/float64(max(u.batches, 1)), float64(u.cpu["ingest"].Microseconds())/float64(max(u.inPath, 1)), u.cpu["respond"], u.invocations["respond"])
	fmt.Fprintln(w, "| service | $ per million sends |")
	fmt.Fprintln(w, "|---|---|")
	for _, s := range serviceOrder {
		fmt.Fprintf(w, "| %s | %.2f |\n", s, b.byService[s])
	}
	fmt.Fprintf(w, "| total | %.2f |\n", b.total())
}

func typeMix(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// Defaults of the simulated ingest queue: keep them equal to infra/pipeline.go (ingestBatchSize,
// ingestBatchWindowS; the rule routes detect.IngestEventTypes). Before issue 21: -batch 10
// -ingest-types all.
const (
	defaultBatch  = 1000
	defaultWindow = 5 * time.Second
)

func defaultIngestTypes() []string { return detect.IngestEventTypes() }
