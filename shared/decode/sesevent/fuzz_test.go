package sesevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Fuzz targets: no input may panic, every batch yields one Result per record with the record's
// Ref, and each Result has exactly one of Err, Skip, Events. Seeds are the fixtures under events/
// (the seed corpus runs with every `go test`); run one at a time, e.g.
//
//	go test -run='^$' -fuzz='^FuzzDecodeSQS$' -fuzztime=60s -parallel=1 ./shared/decode/sesevent/

// seedFiles adds every fixture whose relative path has one of the prefixes (all when none).
func seedFiles(f *testing.F, prefixes ...string) {
	f.Helper()
	for _, bad := range []bool{false, true} {
		for _, rel := range fixtureFiles(f, bad) {
			if len(prefixes) > 0 && !hasAnyPrefix(rel, prefixes) {
				continue
			}
			data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(rel)))
			if err != nil {
				f.Fatal(err)
			}
			if len(data) > 64<<10 || isGzip(data) {
				// Keep seeds cheap: a mutated gzip seed can inflate a thousandfold. Oversize and gzip
				// inputs have their own tests; FuzzStream adds a small gzip seed.
				continue
			}
			f.Add(data)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// seedMessages adds bare records, SNS notifications and EventBridge events as single messages.
func seedMessages(f *testing.F) {
	f.Helper()
	seedFiles(f, "record/", "eventbridge/", "cloudtrail/eventbridge-", "bad/truncated", "bad/missing", "bad/unknown", "bad/cloudtrail-bad")
	f.Add([]byte("Successfully validated SNS topic for Amazon SES event publishing."))
	f.Add([]byte(`{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:eu-west-1:111122223333:t","Message":"{\"eventType\":\"Send\",\"mail\":{\"timestamp\":\"2026-05-04T09:15:27Z\",\"messageId\":\"x\"}}\n"}`))
	f.Add([]byte(`"{\"eventType\":\"Send\"}"`))
	f.Add([]byte(`{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"ok"}`))
}

func checkBatch(t *testing.T, n int, results []Result, refPrefix string) {
	t.Helper()
	if len(results) != n {
		t.Fatalf("%d records gave %d results", n, len(results))
	}
	for _, r := range results {
		checkInvariants(t, r)
		if !strings.HasPrefix(r.Ref, refPrefix) {
			t.Errorf("ref %q lacks prefix %q", r.Ref, refPrefix)
		}
	}
}

func FuzzDecodeSQS(f *testing.F) {
	seedFiles(f, "sqs/", "bad/sqs-", "cloudtrail/sqs-", "bad/cloudtrail-sqs")
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// data as a whole Lambda event...
		var ev events.SQSEvent
		if json.Unmarshal(data, &ev) == nil {
			checkBatch(t, len(ev.Records), DecodeSQS(ev), "sqs:")
		}
		// ...and as one message body.
		one := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(data), AWSRegion: "eu-west-1"}}}
		checkBatch(t, 1, DecodeSQS(one), "sqs:m")
	})
}

func FuzzDecodeSNS(f *testing.F) {
	seedFiles(f, "sns/", "bad/sns-")
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.SNSEvent
		if json.Unmarshal(data, &ev) == nil {
			checkBatch(t, len(ev.Records), DecodeSNS(ev), "sns:")
		}
		one := events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m", Type: "Notification", Message: string(data)}}}}
		checkBatch(t, 1, DecodeSNS(one), "sns:m")
	})
}

func FuzzDecodeEventBridge(f *testing.F) {
	seedFiles(f, "eventbridge/")
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.CloudWatchEvent
		if json.Unmarshal(data, &ev) == nil {
			checkBatch(t, 1, []Result{DecodeEventBridge(ev)}, "eventbridge:")
		}
		if json.Valid(data) {
			one := events.CloudWatchEvent{ID: "e", Source: "aws.ses", DetailType: "Email Sent", Detail: data}
			checkBatch(t, 1, []Result{DecodeEventBridge(one)}, "eventbridge:e")
		}
	})
}

func FuzzDecodeFirehose(f *testing.F) {
	seedFiles(f, "firehose/", "bad/firehose-")
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.KinesisFirehoseEvent
		if json.Unmarshal(data, &ev) == nil {
			checkBatch(t, len(ev.Records), DecodeFirehose(ev), "firehose:")
		}
		one := events.KinesisFirehoseEvent{Records: []events.KinesisFirehoseEventRecord{{RecordID: "r", Data: data}}}
		checkBatch(t, 1, DecodeFirehose(one), "firehose:r")
	})
}

func FuzzDecodeKinesis(f *testing.F) {
	seedFiles(f, "kinesis/")
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.KinesisEvent
		if json.Unmarshal(data, &ev) == nil {
			checkBatch(t, len(ev.Records), DecodeKinesis(ev), "kinesis:")
		}
		one := events.KinesisEvent{Records: []events.KinesisEventRecord{{Kinesis: events.KinesisRecord{SequenceNumber: "s", Data: data}}}}
		checkBatch(t, 1, DecodeKinesis(one), "kinesis:s")
	})
}

func FuzzDecodeRecord(f *testing.F) {
	seedMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeRecord(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Ref != "record" {
				t.Fatalf("error %T %v is not a *DecodeError for ref record", err, err)
			}
			return
		}
		if _, ok := knownType(string(ev.Type)); !ok || ev.MessageID == "" || ev.MailTime.IsZero() || ev.EventTime.IsZero() {
			t.Fatalf("accepted an event without type, id or times: %+v", ev)
		}
	})
}

func FuzzStream(f *testing.F) {
	seedFiles(f)
	f.Add([]byte("{\n\"a\":[1,\n2]}\n{\"eventType\":\"Send\",\"mail\":{\n"))
	f.Add(gz([]byte(sendA + "\n" + sendB + "\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStream(bytes.NewReader(data), "f")
		n := 0
		for {
			r, ok := s.Next()
			if !ok {
				break
			}
			checkInvariants(t, r)
			if !strings.HasPrefix(r.Ref, "f:") {
				t.Fatalf("ref %q", r.Ref)
			}
			// Every result consumes at least one byte, so the count is bounded by the input.
			if n++; n > len(data)+1 {
				t.Fatalf("%d results from %d bytes", n, len(data))
			}
		}
		if _, ok := s.Next(); ok {
			t.Fatal("Next after the end returned a result")
		}
		// Framing: valid NDJSON of objects yields exactly one result per line, on that line.
		if refs, ok := ndjsonRefs(data); ok {
			s := NewStream(bytes.NewReader(data), "f")
			for i := 0; ; i++ {
				r, more := s.Next()
				if !more {
					if i != len(refs) {
						t.Fatalf("%d results for %d NDJSON lines", i, len(refs))
					}
					break
				}
				if i >= len(refs) || r.Ref != refs[i] {
					t.Fatalf("result %d has ref %q, want one of %v", i, r.Ref, refs)
				}
			}
		}
		for _, r := range DecodeAny(data, "f") {
			checkInvariants(t, r)
		}
	})
}

// ndjsonRefs returns the Refs a Stream named "f" must produce when data is NDJSON whose every
// non-blank line is one valid JSON object; ok is false for any other input.
func ndjsonRefs(data []byte) (refs []string, ok bool) {
	if isGzip(data) || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, false
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.Trim(line, " \t\r") // JSON white space only, as the Stream
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) || bytes.ContainsRune(line, 0x1e) {
			return nil, false
		}
		refs = append(refs, "f:"+strconv.Itoa(i+1))
	}
	return refs, len(refs) > 0
}
