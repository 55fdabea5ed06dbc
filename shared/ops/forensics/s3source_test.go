package forensics

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// pagedS3 serves keys two per page, with delimiter support, and counts the calls.
type pagedS3 struct {
	keys  []string
	lists []string // prefixes listed
}

func (f *pagedS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix, delim := aws.ToString(in.Prefix), aws.ToString(in.Delimiter)
	f.lists = append(f.lists, prefix)
	var entries []string // keys and common prefixes, in order
	for _, k := range f.keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+1]
				if len(entries) == 0 || entries[len(entries)-1] != cp {
					entries = append(entries, cp)
				}
				continue
			}
		}
		entries = append(entries, k)
	}
	start := 0
	if in.ContinuationToken != nil {
		start, _ = strconv.Atoi(*in.ContinuationToken)
	}
	out := &s3.ListObjectsV2Output{}
	end := min(start+2, len(entries))
	for _, e := range entries[start:end] {
		if strings.HasSuffix(e, delim) && delim != "" {
			out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(e)})
		} else {
			out.Contents = append(out.Contents, types.Object{Key: aws.String(e), Size: aws.Int64(1)})
		}
	}
	if end < len(entries) {
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *pagedS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(""))}, nil
}

func TestExpandS3(t *testing.T) {
	var keys []string
	for d := 1; d <= 9; d++ {
		for _, h := range []string{"00", "12", "23"} {
			keys = append(keys, "events/2026/05/0"+strconv.Itoa(d)+"/"+h+"/a.gz", "events/2026/05/0"+strconv.Itoa(d)+"/"+h+"/b.gz")
		}
		keys = append(keys, "hive/dt=2026-05-0"+strconv.Itoa(d)+"/part-0.gz")
	}
	slices.Sort(keys)
	day := func(d int) time.Time { return time.Date(2026, 5, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name         string
		url          string
		since, until time.Time
		want         int
	}{
		{"flat, paginated", "s3://b/events/", time.Time{}, time.Time{}, 54},
		// Day 5 (6 objects), the hour before it (04/23: 2) and the day after it (06: 6).
		{"pruned day", "s3://b/events/", day(5), day(6), 14},
		{"dt= partitions", "s3://b/hive/", day(5), day(6), 3}, // dt=04 (ends within PruneSlack of since), 05, and 06 (UntilSlack)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &pagedS3{keys: keys}
			exp, err := ExpandS3(context.Background(), f, tt.url, tt.since, tt.until)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Inputs) != tt.want {
				t.Fatalf("%d inputs, want %d: %v", len(exp.Inputs), tt.want, exp.Inputs)
			}
			if !slices.IsSortedFunc(exp.Inputs, func(a, b Input) int { return strings.Compare(a.Path, b.Path) }) {
				t.Error("inputs not in key order")
			}
			if exp.Lists != len(f.lists) || exp.Lists < 2 {
				t.Errorf("Lists %d, calls %d (pagination not followed?)", exp.Lists, len(f.lists))
			}
			t.Logf("%d inputs, %d LISTs, %d pruned prefixes", len(exp.Inputs), exp.Lists, exp.PrunedPrefixes)
		})
	}
	if _, _, err := ParseS3URL("s3:///x"); err == nil {
		t.Error("s3:///x parsed")
	}
}
