package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// The Firehose transformation trigger: every record Ok, ProcessingFailed or Dropped, each
// annotated with what sesguard found.

// handleFirehose is a Firehose data transformation: every record gets a result. Decoded records
// are re-encoded with a "sesguard" member (attribution and finding ids) for the archive; records
// that do not decode are ProcessingFailed (Firehose writes them to its error prefix) and the SES
// validation text is Dropped. A detection or publish failure fails the invocation, so Firehose
// retries it instead of archiving records whose findings were lost.
func (h *Handler) handleFirehose(ctx context.Context, log *slog.Logger, payload []byte) (events.KinesisFirehoseResponse, error) {
	var ev events.KinesisFirehoseEvent
	var resp events.KinesisFirehoseResponse
	if err := json.Unmarshal(payload, &ev); err != nil {
		return resp, fmt.Errorf("ingest: Firehose event: %w", err)
	}
	results := sesevent.DecodeFirehose(ev)
	outs := h.process(ctx, log, results, delivery{})
	resp.Records = make([]events.KinesisFirehoseResponseRecord, len(outs))
	for i, o := range outs {
		rec := ev.Records[i]
		out := events.KinesisFirehoseResponseRecord{RecordID: rec.RecordID, Data: rec.Data}
		switch {
		case o.res.Err != nil:
			out.Result = events.KinesisFirehoseTransformedStateProcessingFailed
		case o.failed != nil:
			summary(log, "firehose", outs)
			return events.KinesisFirehoseResponse{}, fmt.Errorf("ingest: Firehose record %s: %w", rec.RecordID, o.failed)
		case o.res.Skip != "":
			out.Result = events.KinesisFirehoseTransformedStateDropped
		default:
			data, err := annotate(o.res.Raw, h.annotation(ctx, o))
			if err != nil {
				out.Result = events.KinesisFirehoseTransformedStateProcessingFailed
				log.Error("ingest: re-encode failed", fnenv.LogRecord, o.res.Ref, "error", err.Error())
				break
			}
			if bytes.HasSuffix(rec.Data, []byte("\n")) {
				data = append(data, '\n')
			}
			out.Result, out.Data = events.KinesisFirehoseTransformedStateOk, data
		}
		resp.Records[i] = out
	}
	summary(log, "firehose", outs)
	return resp, nil
}

// Annotation is the "sesguard" member added to archived records.
type Annotation struct {
	Principal finding.Principal `json:"principal"`
	SourceIP  string            `json:"source_ip,omitempty"`
	// Network is approved, outside or unknown (no source IP).
	Network  string   `json:"network,omitempty"`
	Findings []string `json:"findings,omitempty"`
}

func (h *Handler) annotation(ctx context.Context, o outcome) Annotation {
	var a Annotation
	if len(o.res.Events) == 0 {
		return a
	}
	ev := &o.res.Events[0]
	a.Principal = finding.Principal{Name: ev.CallerIdentity, Kind: finding.KindUnknown}
	if h.Attributor != nil && ev.CallerIdentity != "" {
		a.Principal = h.Attributor.Attribute(ctx, ev.Account, ev.CallerIdentity)
	}
	if ev.SourceIP.IsValid() {
		a.SourceIP = ev.SourceIP.String()
	}
	if h.Network != nil {
		switch {
		case !ev.SourceIP.IsValid():
			a.Network = "unknown"
		case h.Network.NetworkApproved(ev.SourceIP):
			a.Network = "approved"
		default:
			a.Network = "outside"
		}
	}
	a.Findings = o.findings
	return a
}

// annotate adds "sesguard": a to the JSON object raw, keeping every byte of the original record.
func annotate(raw []byte, a Annotation) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return nil, errors.New("record is not a JSON object")
	}
	extra, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(raw[1 : len(raw)-1])
	out := make([]byte, 0, len(raw)+len(extra)+16)
	out = append(out, '{')
	if len(body) > 0 {
		out = append(out, body...)
		out = append(out, ',')
	}
	out = append(out, `"sesguard":`...)
	out = append(out, extra...)
	out = append(out, '}')
	return out, nil
}

// stringField extracts a string member of a JSON object, best effort, to name a broken record.
func stringField(obj []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(m[key], &s)
	return s
}
