package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestIngestEveryEnvelope feeds every fixture under events/ that is a Lambda event (SQS, SNS,
// EventBridge, Kinesis, Firehose) to the real ingest binary and checks the answer has the shape
// the event source expects, with no record failing; and that the bad batch fails exactly its bad
// record.
func TestIngestEveryEnvelope(t *testing.T) {
	w := newWorld(t)
	ingest := w.function("ingest", "dry-run")
	root := filepath.Join("..", "..", "events")
	call := func(t *testing.T, path string) ([]byte, []byte) {
		t.Helper()
		payload, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, fnErr, err := ingest.Invoke(ctx, payload)
		if err != nil || fnErr != nil {
			t.Fatalf("%s: %v %v", path, err, fnErr)
		}
		return payload, out
	}
	for _, transport := range []string{"sqs", "kinesis", "sns", "eventbridge", "firehose"} {
		files, _ := filepath.Glob(filepath.Join(root, transport, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no fixtures under events/%s", transport)
		}
		for _, f := range files {
			t.Run(transport+"/"+filepath.Base(f), func(t *testing.T) {
				payload, out := call(t, f)
				switch transport {
				case "sqs", "kinesis":
					var r struct {
						BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
					}
					if err := json.Unmarshal(out, &r); err != nil || r.BatchItemFailures == nil {
						t.Fatalf("response %s is not a batch response", out)
					}
					if len(r.BatchItemFailures) != 0 {
						t.Errorf("good fixture failed records: %v", r.BatchItemFailures)
					}
				case "firehose":
					var in events.KinesisFirehoseEvent
					var r events.KinesisFirehoseResponse
					if err := json.Unmarshal(payload, &in); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(out, &r); err != nil || len(r.Records) != len(in.Records) {
						t.Fatalf("response %s does not answer every record", out)
					}
					for i, rec := range r.Records {
						if rec.RecordID != in.Records[i].RecordID {
							t.Errorf("record %d: id %s, want %s", i, rec.RecordID, in.Records[i].RecordID)
						}
						switch rec.Result {
						case events.KinesisFirehoseTransformedStateDropped:
						case events.KinesisFirehoseTransformedStateOk:
							var obj map[string]json.RawMessage
							if err := json.Unmarshal(rec.Data, &obj); err != nil || obj["sesguard"] == nil || obj["mail"] == nil {
								t.Errorf("record %s: Ok data is not the record with a sesguard member: %s", rec.RecordID, rec.Data)
							}
							if bytes.HasSuffix(in.Records[i].Data, []byte("\n")) != bytes.HasSuffix(rec.Data, []byte("\n")) {
								t.Errorf("record %s: trailing newline not kept", rec.RecordID)
							}
						default:
							t.Errorf("record %s: result %s for a good fixture", rec.RecordID, rec.Result)
						}
					}
				default: // sns, eventbridge: asynchronous invokes answer null on success
					if string(out) != "null" {
						t.Errorf("response %s, want null", out)
					}
				}
			})
		}
	}
	t.Run("bad/sqs-one-of-ten-bad.json", func(t *testing.T) {
		payload, out := call(t, filepath.Join(root, "bad", "sqs-one-of-ten-bad.json"))
		var in events.SQSEvent
		var r events.SQSEventResponse
		if err := json.Unmarshal(payload, &in); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if len(in.Records) != 10 || len(r.BatchItemFailures) != 1 {
			t.Fatalf("%d records, failures %v; want exactly one failure", len(in.Records), r.BatchItemFailures)
		}
	})
	t.Run("bad/sns-message-not-json.json", func(t *testing.T) {
		payload, err := os.ReadFile(filepath.Join(root, "bad", "sns-message-not-json.json"))
		if err != nil {
			t.Fatal(err)
		}
		_, fnErr, err := ingest.Invoke(context.Background(), payload)
		if err != nil || fnErr == nil {
			t.Fatalf("want a function error so SNS retries and then dead-letters the event, got %v %v", fnErr, err)
		}
	})
}
