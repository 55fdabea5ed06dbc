package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// The SQS batches the fast reader (sesevent.ParseSQSEvent) takes give the same response, the
// same published findings and the same logs as the encoding/json path: realistic batches of the
// corpus in EventBridge bodies, bodies with bad records among good ones, and the SQS fixtures.
func TestSQSFastPathMatchesEncodingJSON(t *testing.T) {
	p, err := policy.Load([]byte(sescorpus.Policy), "corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var corpus bytes.Buffer
	if _, err := sescorpus.Write(&corpus, sescorpus.Options{Seed: 4, Records: 60}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(corpus.String()), "\n")
	var payloads [][]byte
	for i := 0; i+10 <= len(lines); i += 10 {
		var bodies []string
		for _, l := range lines[i : i+10] {
			bodies = append(bodies, `{"version":"0","id":"e","detail-type":"Email Sent","source":"aws.ses","account":"111122223333","time":"2026-05-04T09:15:28Z","region":"eu-west-1","detail":`+l+`}`)
		}
		bodies[3] = `{"eventType":` // a bad record among good ones
		bodies[7] = lines[i]        // a bare record (raw delivery), repeated: a duplicate
		payloads = append(payloads, sqsEvent(bodies...))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "sqs", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, data)
	}
	run := func(slow bool) (resps []any, published []string, logs string) {
		d, err := detect.New(p, detect.NewMemoryState(), detect.WithAttributor(fakeAttributor{}))
		if err != nil {
			t.Fatal(err)
		}
		pub := &fakePublisher{}
		var buf bytes.Buffer
		h := &Handler{Detector: d, Publisher: pub, Attributor: fakeAttributor{}, Network: p, Log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))}
		h.slowSQS = slow
		for _, pl := range payloads {
			resp, err := h.Handle(context.Background(), pl)
			if err != nil {
				t.Fatal(err)
			}
			resps = append(resps, resp)
		}
		return resps, pub.names(), buf.String()
	}
	for i, pl := range payloads {
		if _, ok := sesevent.ParseSQSEvent(pl); !ok {
			t.Errorf("payload %d: the fast reader declined it", i)
		}
	}
	fr, fp, fl := run(false)
	sr, sp, sl := run(true)
	if !reflect.DeepEqual(fr, sr) {
		t.Errorf("responses differ:\nfast %+v\nslow %+v", fr, sr)
	}
	if !reflect.DeepEqual(fp, sp) || len(fp) == 0 {
		t.Errorf("published differ or none:\nfast %v\nslow %v", fp, sp)
	}
	if fl != sl {
		t.Errorf("logs differ:\nfast %s\nslow %s", fl, sl)
	}
	if n := len(failures(t, fr[0])); n != 1 {
		t.Errorf("first batch: %d failures, want the bad record", n)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
