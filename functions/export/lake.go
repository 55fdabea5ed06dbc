package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/sesguard/sesguard/shared/deliver/export"
	"github.com/sesguard/sesguard/shared/render/ocsf"
)

// LakeAPI is the part of the Firehose client Lake uses.
type LakeAPI interface {
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, opts ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

var _ LakeAPI = (*firehose.Client)(nil)

// PutRecordBatch limits (Amazon Data Firehose quotas): 500 records and 4 MiB a call, 1,000 KiB a
// record.
const (
	lakeMaxRecords     = 500
	lakeMaxBatchBytes  = 4 << 20
	lakeMaxRecordBytes = 1000 << 10
)

// The partition values Firehose extracts (cloud.region, cloud.account.uid) become S3 key parts
// of the Security Lake layout (region=…/accountId=…): anything but a Region name or a 12-digit
// account would write outside it, so such a record fails here, named.
var (
	lakeRegion  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	lakeAccount = regexp.MustCompile(`^\d{12}$`)
)

// Lake puts findings and results as OCSF Detection Finding events (one JSON object a record) on
// the Firehose stream of the Security Lake custom source, which converts them to Parquet under
// ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/ (infra/securitylake.go).
type Lake struct {
	Client LakeAPI
	Stream string
}

// Record renders it as the OCSF JSON record. The v1 finding does not say whether it is the
// finding's first emission, so every finding is activity Create and every result an Update.
func (l *Lake) Record(it Item) ([]byte, error) {
	var (
		d   ocsf.DetectionFinding
		err error
	)
	switch {
	case it.Finding != nil:
		d, err = ocsf.Finding(it.Finding, ocsf.ActivityCreate)
	case it.Result != nil:
		d, err = ocsf.Result(it.Result)
	default:
		return nil, errors.New("security lake: item is neither a finding nor a result")
	}
	if err != nil {
		return nil, fmt.Errorf("security lake: %w", err)
	}
	if !lakeRegion.MatchString(d.Cloud.Region) {
		return nil, fmt.Errorf("security lake: cloud.region %q is not a Region name (it is the region= partition)", d.Cloud.Region)
	}
	if !lakeAccount.MatchString(d.Cloud.Account.UID) {
		return nil, fmt.Errorf("security lake: cloud.account.uid %q is not a 12-digit account (it is the accountId= partition)", d.Cloud.Account.UID)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("security lake: encode: %w", err)
	}
	b = append(b, '\n')
	if len(b) > lakeMaxRecordBytes {
		return nil, fmt.Errorf("security lake: record is %d bytes, over Firehose's 1,000 KiB limit", len(b))
	}
	return b, nil
}

// Item is the export item (the findings-topic message).
type Item = export.Item

// Export puts the items in batches within PutRecordBatch's limits; a record Firehose rejects
// (FailedPutCount, per-record ErrorCode) fails its item alone, a failed call fails its batch.
func (l *Lake) Export(ctx context.Context, items []Item) export.Failures {
	fail := export.Failures{}
	add := func(key string, err error) {
		if _, ok := fail[key]; !ok {
			fail[key] = err
		}
	}
	var keys []string
	var recs []types.Record
	size := 0
	flush := func() {
		if len(recs) == 0 {
			return
		}
		out, err := l.Client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(l.Stream), Records: recs})
		switch {
		case err != nil:
			for _, k := range keys {
				add(k, fmt.Errorf("firehose PutRecordBatch %s: %w", l.Stream, err))
			}
		case len(out.RequestResponses) != len(recs):
			for _, k := range keys {
				add(k, fmt.Errorf("firehose PutRecordBatch answered %d records for %d", len(out.RequestResponses), len(recs)))
			}
		default:
			for i, r := range out.RequestResponses {
				if r.ErrorCode != nil {
					add(keys[i], fmt.Errorf("firehose rejected the record: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
				}
			}
		}
		keys, recs, size = keys[:0], recs[:0], 0
	}
	for _, it := range items {
		b, err := l.Record(it)
		if err != nil {
			add(it.Key, err)
			continue
		}
		if len(recs) == lakeMaxRecords || size+len(b) > lakeMaxBatchBytes {
			flush()
		}
		keys, recs, size = append(keys, it.Key), append(recs, types.Record{Data: b}), size+len(b)
	}
	flush()
	return fail
}
