package sesevent

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The bare records in events/record/ are authored by hand from the reference document; every
// other envelope fixture is generated from them by this file so the corpus stays consistent:
//
//	go test ./shared/decode/sesevent -run TestFixturesUpToDate -update-fixtures
var updateFixtures = flag.Bool("update-fixtures", false, "regenerate the envelope fixtures under events/ from events/record/")

const (
	eventsDir = "../../../events"
	fxAccount = "111122223333"
	fxRegion  = "eu-west-1"
)

// The ten event types in one batch, the attribution scenarios in another (SQS batches hold ≤ 10).
var (
	typesBatch     = []string{"send-smtp-vpc", "reject", "bounce", "complaint", "delivery", "open", "click", "rendering-failure", "delivery-delay", "subscription"}
	scenariosBatch = []string{"send-api-task-role", "send-api-public-role", "send-root", "send-no-caller-tags", "legacy-bounce", "legacy-complaint", "legacy-delivery"}
)

// Each envelope gets its own message ids (the last six digits), so replaying all of events/
// sees distinct messages per route rather than one message delivered nine times.
const (
	codeSNS = iota + 1
	codeEventBridge
	codeSQSSNS
	codeSQSRaw
	codeSQSEventBridge
	codeFirehose
	codeKinesis
	codeArchive
	codeArchiveGz
)

type fxRecord struct {
	name    string
	compact []byte // compacted record JSON
	id      string // mail.messageId
	when    time.Time
	legacy  bool
}

// withCode returns the record with its message id's last six digits set to code.
func (r fxRecord) withCode(code int) []byte {
	newID := r.id[:len(r.id)-6] + fmt.Sprintf("%06d", code)
	return bytes.ReplaceAll(r.compact, []byte(`"`+r.id+`"`), []byte(`"`+newID+`"`))
}

func loadRecords(t testing.TB) map[string]fxRecord {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(eventsDir, "record", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no records in %s/record: %v", eventsDir, err)
	}
	out := map[string]fxRecord{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := DecodeRecord(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		out[name] = fxRecord{name: name, compact: buf.Bytes(), id: ev.MessageID, when: ev.EventTime, legacy: ev.Legacy}
	}
	return out
}

// uuid is a deterministic version-4-shaped UUID derived from seed.
func uuid(seed ...string) string {
	h := sha256.Sum256([]byte(strings.Join(seed, "/")))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func pick(recs map[string]fxRecord, names []string, legacyOK bool) []fxRecord {
	var out []fxRecord
	for _, n := range names {
		r, ok := recs[n]
		if !ok {
			panic("fixture record missing: " + n)
		}
		if r.legacy && !legacyOK {
			continue // legacy identity notifications only ever travel through SNS
		}
		out = append(out, r)
	}
	return out
}

// Wire shapes, field order as AWS sends them.
type (
	snsNotification struct {
		Type             string          `json:"Type"`
		MessageID        string          `json:"MessageId"`
		TopicArn         string          `json:"TopicArn"`
		Subject          string          `json:"Subject,omitempty"`
		Message          string          `json:"Message"`
		Timestamp        string          `json:"Timestamp"`
		SignatureVersion string          `json:"SignatureVersion"`
		Signature        string          `json:"Signature"`
		SigningCertURL   string          `json:"SigningCertURL,omitempty"`
		UnsubscribeURL   string          `json:"UnsubscribeURL,omitempty"`
		SigningCertURL2  string          `json:"SigningCertUrl,omitempty"`
		UnsubscribeURL2  string          `json:"UnsubscribeUrl,omitempty"`
		Attributes       json.RawMessage `json:"MessageAttributes,omitempty"`
	}
	snsLambdaRecord struct {
		EventVersion         string          `json:"EventVersion"`
		EventSubscriptionArn string          `json:"EventSubscriptionArn"`
		EventSource          string          `json:"EventSource"`
		Sns                  snsNotification `json:"Sns"`
	}
	ebEvent struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       string          `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	sqsRecord struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes struct{}          `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	firehoseRecord struct {
		RecordID string `json:"recordId"`
		Arrival  int64  `json:"approximateArrivalTimestamp"`
		Data     string `json:"data"`
	}
	firehoseEvent struct {
		InvocationID      string           `json:"invocationId"`
		DeliveryStreamArn string           `json:"deliveryStreamArn"`
		Region            string           `json:"region"`
		Records           []firehoseRecord `json:"records"`
	}
	kinesisData struct {
		KinesisSchemaVersion string  `json:"kinesisSchemaVersion"`
		PartitionKey         string  `json:"partitionKey"`
		SequenceNumber       string  `json:"sequenceNumber"`
		Data                 string  `json:"data"`
		Arrival              float64 `json:"approximateArrivalTimestamp"`
	}
	kinesisRecord struct {
		Kinesis           kinesisData `json:"kinesis"`
		EventSource       string      `json:"eventSource"`
		EventVersion      string      `json:"eventVersion"`
		EventID           string      `json:"eventID"`
		EventName         string      `json:"eventName"`
		InvokeIdentityArn string      `json:"invokeIdentityArn"`
		AwsRegion         string      `json:"awsRegion"`
		EventSourceARN    string      `json:"eventSourceARN"`
	}
)

const (
	topicArn = "arn:aws:sns:eu-west-1:111122223333:ses-events"
	certURL  = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
)

func rfc3339ms(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func snsFor(r fxRecord, code int, lambda bool) snsNotification {
	id := uuid("sns", r.name, strconv.Itoa(code))
	n := snsNotification{
		Type: "Notification", MessageID: id, TopicArn: topicArn,
		Message:          string(r.withCode(code)) + "\n",
		Timestamp:        rfc3339ms(r.when.Add(300 * time.Millisecond)),
		SignatureVersion: "1",
		Signature:        "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
	}
	if !r.legacy {
		n.Subject = "Amazon SES Email Event Notification"
	}
	unsub := "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicArn + ":" + uuid("sub", strconv.FormatBool(lambda))
	if lambda {
		n.SigningCertURL2, n.UnsubscribeURL2, n.Attributes = certURL, unsub, json.RawMessage("{}")
	} else {
		n.SigningCertURL, n.UnsubscribeURL = certURL, unsub
	}
	return n
}

func detailType(t Type) string {
	return map[Type]string{
		TypeSend: "Email Sent", TypeDelivery: "Email Delivered", TypeBounce: "Email Bounced", TypeComplaint: "Email Complaint Received",
		TypeReject: "Email Rejected", TypeOpen: "Email Opened", TypeClick: "Email Clicked", TypeRenderingFailure: "Email Rendering Failed",
		TypeDeliveryDelay: "Email Delivery Delayed", TypeSubscription: "Email Subscribed",
	}[t]
}

func ebFor(r fxRecord, code int) ebEvent {
	ev, err := DecodeRecord(r.compact)
	if err != nil {
		panic(err)
	}
	return ebEvent{
		Version: "0", ID: uuid("eb", r.name, strconv.Itoa(code)), DetailType: detailType(ev.Type), Source: "aws.ses",
		Account: fxAccount, Time: r.when.Add(time.Second).UTC().Truncate(time.Second).Format(time.RFC3339), Region: fxRegion,
		Resources: []string{"arn:aws:ses:eu-west-1:111122223333:configuration-set/prod-outbound"},
		Detail:    json.RawMessage(r.withCode(code)),
	}
}

func sqsFor(name string, body []byte, when time.Time, sender string) sqsRecord {
	sent := when.Add(400 * time.Millisecond).UnixMilli()
	sum := md5.Sum(body)
	return sqsRecord{
		MessageID:     uuid("sqs", name),
		ReceiptHandle: "AQEB" + base64.StdEncoding.EncodeToString([]byte(uuid("rh", name)))[:40],
		Body:          string(body),
		Attributes: map[string]string{
			"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(sent, 10),
			"SenderId": sender, "ApproximateFirstReceiveTimestamp": strconv.FormatInt(sent+12, 10),
		},
		MD5OfBody: hex.EncodeToString(sum[:]), EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:sesguard-ingest", AWSRegion: fxRegion,
	}
}

// mustJSON and mustCompact encode like AWS does: no HTML escaping of <, > and &.
func mustJSON(v any) []byte { return encodeJSON(v, "  ") }

func mustCompact(v any) []byte { return bytes.TrimSuffix(encodeJSON(v, ""), []byte("\n")) }

func encodeJSON(v any, indent string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// generateFixtures returns every generated file, keyed by path relative to events/.
func generateFixtures(t testing.TB) map[string][]byte {
	recs := loadRecords(t)
	files := map[string][]byte{}
	names := slices.Concat(typesBatch, scenariosBatch)

	for _, r := range pick(recs, names, true) {
		files["sns/"+r.name+".json"] = mustJSON(map[string][]snsLambdaRecord{"Records": {{
			EventVersion: "1.0", EventSubscriptionArn: topicArn + ":" + uuid("sub", "true"), EventSource: "aws:sns",
			Sns: snsFor(r, codeSNS, true),
		}}})
	}
	for _, r := range pick(recs, names, false) {
		files["eventbridge/"+r.name+".json"] = mustJSON(ebFor(r, codeEventBridge))
	}
	validation := snsNotification{
		Type: "Notification", MessageID: uuid("sns", "validation"), TopicArn: topicArn,
		Message:   "Successfully validated SNS topic for Amazon SES event publishing.",
		Timestamp: "2026-05-04T08:00:00.000Z", SignatureVersion: "1", Signature: "EXAMPLE",
		SigningCertURL2: certURL, UnsubscribeURL2: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicArn + ":" + uuid("sub", "true"),
		Attributes: json.RawMessage("{}"),
	}
	files["sns/validation.json"] = mustJSON(map[string][]snsLambdaRecord{"Records": {{
		EventVersion: "1.0", EventSubscriptionArn: topicArn + ":" + uuid("sub", "true"), EventSource: "aws:sns", Sns: validation,
	}}})

	for _, batch := range []struct {
		name  string
		names []string
	}{{"types", typesBatch}, {"scenarios", scenariosBatch}} {
		var viaSNS, raw, viaEB []sqsRecord
		for _, r := range pick(recs, batch.names, true) {
			viaSNS = append(viaSNS, sqsFor("sns/"+r.name, mustCompact(snsFor(r, codeSQSSNS, false)), r.when, "AIDAIEXAMPLESNSSENDER"))
			raw = append(raw, sqsFor("raw/"+r.name, r.withCode(codeSQSRaw), r.when, "AIDAIEXAMPLESNSSENDER"))
			if !r.legacy {
				viaEB = append(viaEB, sqsFor("eb/"+r.name, mustCompact(ebFor(r, codeSQSEventBridge)), r.when, "AIDAIEXAMPLEEVENTBRIDGE"))
			}
		}
		files["sqs/sns-"+batch.name+".json"] = mustJSON(map[string][]sqsRecord{"Records": viaSNS})
		files["sqs/raw-"+batch.name+".json"] = mustJSON(map[string][]sqsRecord{"Records": raw})
		files["sqs/eventbridge-"+batch.name+".json"] = mustJSON(map[string][]sqsRecord{"Records": viaEB})

		fh := firehoseEvent{
			InvocationID:      uuid("firehose", batch.name),
			DeliveryStreamArn: "arn:aws:firehose:eu-west-1:111122223333:deliverystream/ses-events", Region: fxRegion,
		}
		var kin []kinesisRecord
		for i, r := range pick(recs, batch.names, false) {
			fh.Records = append(fh.Records, firehoseRecord{
				RecordID: fmt.Sprintf("4965432109876543210987654321098765432109876543210987%016d", i),
				Arrival:  r.when.Add(500 * time.Millisecond).UnixMilli(),
				Data:     base64.StdEncoding.EncodeToString(append(r.withCode(codeFirehose), '\n')),
			})
			seq := fmt.Sprintf("4959000000000000000000000000000000000000000000%010d", i+1)
			kin = append(kin, kinesisRecord{
				Kinesis: kinesisData{
					KinesisSchemaVersion: "1.0", PartitionKey: r.name, SequenceNumber: seq,
					Data:    base64.StdEncoding.EncodeToString(r.withCode(codeKinesis)),
					Arrival: float64(r.when.Add(time.Second).Unix()),
				},
				EventSource: "aws:kinesis", EventVersion: "1.0", EventID: "shardId-000000000000:" + seq, EventName: "aws:kinesis:record",
				InvokeIdentityArn: "arn:aws:iam::111122223333:role/sesguard-ingest", AwsRegion: fxRegion,
				EventSourceARN: "arn:aws:kinesis:eu-west-1:111122223333:stream/ses-events",
			})
		}
		files["firehose/"+batch.name+".json"] = mustJSON(fh)
		files["kinesis/"+batch.name+".json"] = mustJSON(map[string][]kinesisRecord{"Records": kin})
	}

	// What Firehose writes to S3 for an SES destination: each record followed by a newline.
	var nd, ndgz bytes.Buffer
	for _, r := range pick(recs, names, false) {
		nd.Write(r.withCode(codeArchive))
		nd.WriteByte('\n')
		ndgz.Write(r.withCode(codeArchiveGz))
		ndgz.WriteByte('\n')
	}
	files["archive/ses-events-1-2026-05-04-09-15-27-6f1c2b9a.ndjson"] = nd.Bytes()
	files["archive/ses-events-1-2026-05-04-10-15-27-0d4e8a71.ndjson.gz"] = gz(ndgz.Bytes())

	generateBadFixtures(recs, files)
	return files
}

// generateBadFixtures adds the bad inputs that need a valid envelope around them.
func generateBadFixtures(recs map[string]fxRecord, files map[string][]byte) {
	// One of ten SQS records is bad (a number where mail.timestamp wants a string).
	var batch []sqsRecord
	for i, r := range pick(recs, typesBatch, false) {
		body := r.withCode(100 + i)
		if i == 6 {
			body = bytes.Replace(body, []byte(`"timestamp":"2026-05-04T09:15:27.418Z"`), []byte(`"timestamp":1777886127418`), 1)
		}
		batch = append(batch, sqsFor("bad-batch/"+r.name, body, r.when, "AIDAIEXAMPLESNSSENDER"))
	}
	files["bad/sqs-one-of-ten-bad.json"] = mustJSON(map[string][]sqsRecord{"Records": batch})

	// An SQS body that is double-encoded garbage, between two good ones.
	good := recs["send-smtp-vpc"]
	garbage := mustCompact(string(mustCompact(map[string]string{"Type": "Notification", "Message": "\x00\x01not json{{"})))
	files["bad/sqs-double-encoded-garbage.json"] = mustJSON(map[string][]sqsRecord{"Records": {
		sqsFor("garbage/1", good.withCode(201), good.when, "AIDAIEXAMPLESNSSENDER"),
		sqsFor("garbage/2", garbage, good.when, "AIDAIEXAMPLESNSSENDER"),
		sqsFor("garbage/3", good.withCode(203), good.when, "AIDAIEXAMPLESNSSENDER"),
	}})

	// A 10 MB line between two good ones; gzip keeps the committed file tiny.
	huge := bytes.Replace(good.withCode(301), []byte(`"subject":"Your invoice 2026-0412"`),
		[]byte(`"subject":"`+strings.Repeat("A", 10<<20)+`"`), 1)
	var nd bytes.Buffer
	nd.Write(good.withCode(300))
	nd.WriteByte('\n')
	nd.Write(huge)
	nd.WriteByte('\n')
	nd.Write(good.withCode(302))
	nd.WriteByte('\n')
	files["bad/oversize-line.ndjson.gz"] = gz(nd.Bytes())
}

// readFixture returns a file's content, decompressed when gzip, for comparison.
func fixtureContent(b []byte) []byte {
	if !isGzip(b) {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return b
	}
	return out
}

func TestFixturesUpToDate(t *testing.T) {
	files := generateFixtures(t)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, rel := range keys {
		path := filepath.Join(eventsDir, filepath.FromSlash(rel))
		if *updateFixtures {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, files[rel], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run with -update-fixtures)", rel, err)
			continue
		}
		if !bytes.Equal(fixtureContent(have), fixtureContent(files[rel])) {
			t.Errorf("%s is stale: regenerate with go test ./shared/decode/sesevent -run TestFixturesUpToDate -update-fixtures", rel)
		}
	}
}
