package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/render/ocsf"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func lakeFinding(id, account, region string) *finding.Finding {
	t0 := time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)
	return &finding.Finding{Schema: finding.SchemaFinding, ID: id, Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: account, Region: region, Principal: finding.Principal{Name: "smtp", Kind: finding.KindUser, ARN: "arn:aws:iam::" + account + ":user/smtp"},
		SourceIP: "203.0.113.7", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute),
		Evidence: finding.Evidence{Count: 3, FirstSeen: t0, LastSeen: t0.Add(time.Minute)}, Actions: []string{"deactivate_keys"}}
}

func lakeItem(t *testing.T, key string, f *finding.Finding, r *finding.Result) Item {
	t.Helper()
	var v any = f
	if r != nil {
		v = r
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return Item{Key: key, Finding: f, Result: r, Raw: raw}
}

// TestLakeAgainstMoto puts findings and a result through a real Firehose client to moto's
// Firehose, which writes the records to S3 as they are (moto does no Parquet conversion, no
// dynamic partitioning and no buffering: those need a real stream, see README). Read back, each
// object line is one OCSF Detection Finding; bad records fail alone and name the field.
func TestLakeAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	cfg := m.ConfigFastRetry(t, 2)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	fh := firehose.NewFromConfig(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("sesguard-lake"),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::lake"), RoleARN: aws.String("arn:aws:iam::" + awstest.Account + ":role/firehose"),
			Prefix: aws.String("ext/sesguard/"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	l := &Lake{Client: fh, Stream: "sesguard-lake"}
	res := &finding.Result{Schema: finding.SchemaResult, FindingID: "f-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: "111122223333", Region: "eu-west-1", Mode: "enforce", Time: time.Date(2026, 5, 4, 9, 17, 0, 0, time.UTC),
		Actions: []finding.ActionResult{{Action: "deactivate_keys", Outcome: finding.OutcomeApplied}}}
	items := []Item{
		lakeItem(t, "m1", lakeFinding("f-1", "111122223333", "eu-west-1"), nil),
		lakeItem(t, "m2", nil, res),
		lakeItem(t, "m3", lakeFinding("f-3", "111122223333", "eu-west-1/../../x"), nil),
		lakeItem(t, "m4", lakeFinding("f-4", "1111", "eu-west-1"), nil),
		{Key: "m5"},
	}
	fail := l.Export(ctx, items)
	for key, want := range map[string]string{"m3": "cloud.region", "m4": "cloud.account.uid", "m5": "neither a finding nor a result"} {
		if err := fail[key]; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %q", key, err, want)
		}
	}
	if len(fail) != 3 {
		t.Errorf("failures %v, want m3, m4, m5 only", fail)
	}

	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("ext/sesguard/")})
	if err != nil {
		t.Fatal(err)
	}
	var got []ocsf.DetectionFinding
	for _, o := range list.Contents {
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(obj.Body)
		sc.Buffer(nil, 2<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var d ocsf.DetectionFinding
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("%s: line %q: %v", aws.ToString(o.Key), sc.Text(), err)
			}
			got = append(got, d)
		}
		obj.Body.Close()
	}
	if len(got) != 2 {
		t.Fatalf("%d events in S3, want 2 (the finding and the result)", len(got))
	}
	slices.SortFunc(got, func(a, b ocsf.DetectionFinding) int { return a.ActivityID - b.ActivityID })
	for i, want := range []struct{ activity, status int }{{ocsf.ActivityCreate, ocsf.StatusNew}, {ocsf.ActivityUpdate, ocsf.StatusInProgress}} {
		d := got[i]
		if d.ClassUID != ocsf.ClassUID || d.ActivityID != want.activity || d.StatusID != want.status || d.Info.UID != "f-1" ||
			d.Cloud.Region != "eu-west-1" || d.Cloud.Account.UID != "111122223333" || d.Metadata.Version != ocsf.Version {
			t.Errorf("event %d: %+v", i, d)
		}
	}

	t.Run("call fails: its batch fails, named", func(t *testing.T) {
		m.Fault(awstest.Fault{Service: "firehose", Operation: "PutRecordBatch", Kind: awstest.FaultAccessDenied})
		defer m.ClearFaults()
		fail := l.Export(ctx, items[:2])
		if len(fail) != 2 || !strings.Contains(fail["m1"].Error(), "sesguard-lake") {
			t.Errorf("failures %v", fail)
		}
	})
	t.Run("record rejected: that item alone", func(t *testing.T) {
		m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
			if awstest.SigningService(r) != "firehose" || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutRecordBatch") {
				return false
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = w.Write([]byte(`{"FailedPutCount":1,"Encrypted":false,"RequestResponses":[{"RecordId":"a"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."}]}`))
			return true
		})
		// Last subtest: handlers stay installed for the rest of the test.
		fail := l.Export(ctx, items[:2])
		if len(fail) != 1 || fail["m2"] == nil || !strings.Contains(fail["m2"].Error(), "ServiceUnavailableException") {
			t.Errorf("failures %v, want m2 alone", fail)
		}
	})
}

// countingLake records the batches it is given.
type countingLake struct{ batches []int }

func (c *countingLake) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	c.batches = append(c.batches, len(in.Records))
	return &firehose.PutRecordBatchOutput{RequestResponses: make([]fhtypes.PutRecordBatchResponseEntry, len(in.Records))}, nil
}

func TestLakeBatchLimits(t *testing.T) {
	c := &countingLake{}
	l := &Lake{Client: c, Stream: "s"}
	var items []Item
	for i := range 1201 {
		items = append(items, lakeItem(t, string(rune('a'+i%26))+strings.Repeat("x", i/26), lakeFinding("f", "111122223333", "eu-west-1"), nil))
	}
	if fail := l.Export(context.Background(), items); len(fail) != 0 {
		t.Fatalf("failures %v", fail)
	}
	if !slices.Equal(c.batches, []int{500, 500, 201}) {
		t.Errorf("batches %v, want 500, 500, 201 (PutRecordBatch takes at most 500 records)", c.batches)
	}
}
