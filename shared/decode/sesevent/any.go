package sesevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"reflect"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// DecodeAny decodes a whole document whose shape is sniffed: a Lambda SQS, SNS, Kinesis or
// Firehose event; an EventBridge event; an SNS notification; a bare record; else NDJSON or
// concatenated JSON (plain or gzip) via Stream. name is used in Refs of stream records
// ("<name>:<line>"); Lambda events keep their transport Refs ("sqs:<messageId>", ...). A record
// that fails to unmarshal into its aws-lambda-go type fails alone.
func DecodeAny(data []byte, name string) []Result {
	if isGzip(data) {
		return collect(DecodeReader(bytes.NewReader(data), name))
	}
	return decodeDocument(data, name)
}

// DecodeReader decodes everything r holds: gzip is undone first; an input of up to
// MaxDocumentSize is decoded like DecodeAny, a larger one is streamed (Lambda event documents are
// never that large). Input whose first line is a whole JSON object followed by more input is
// NDJSON and streamed from the start (DecodeAny would hand it to a Stream too).
func DecodeReader(r io.Reader, name string) iter.Seq[Result] {
	return DecodeReaderWith(r, name, Options{})
}

// Options tune DecodeReaderWith and DecodeFileWith for bulk readers.
type Options struct {
	// NoRaw leaves Result.Raw nil, for callers that only use the events (it saves a copy of
	// every record).
	NoRaw bool
	// NoTags leaves Event.Tags nil, for callers that use only the normalised fields (the
	// attribution fields are still read from the tags): it saves building a map per record.
	NoTags bool
	// Workers > 1 decodes NDJSON input (its first line one whole JSON object) in blocks of lines
	// on that many goroutines. The Results, their order and their Refs are exactly those of
	// sequential decoding.
	Workers int
	// NoRef leaves Result.Ref empty on the Results that decoded (Events or APICall set), for
	// callers that name only the records in error: it saves building "<name>:<line>" per record.
	// Errors and skips still carry their Ref.
	NoRef bool
	// Transient lets a sequential decode reuse the memory of one Result's Events for the next:
	// a Result's Events are valid only until the next Result is asked for. For callers that copy
	// each event out before going on (replay appends them to its batch): it saves an Event of
	// fresh memory (384 bytes) per record. Ignored with Workers > 1, whose Results are made
	// ahead of the caller.
	Transient bool

	blockSize int // bytes per block (tests)
}

// DecodeReaderWith is DecodeReader with options.
func DecodeReaderWith(r io.Reader, name string, opt Options) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		br := newPeekReader(r)
		if isGzip(br.head) {
			gz, err := newGunzip(br)
			if err != nil {
				yield(readError(name, err))
				return
			}
			br = newPeekReader(gz)
		}
		stream := func(buf []byte, rest io.Reader) {
			s := NewStream(io.MultiReader(bytes.NewReader(buf), rest), name)
			s.setOptions(opt)
			s.fast.transient = opt.Transient // sequential: each Result is used before the next
			for {
				res, ok := s.Next()
				if !ok || !yield(res) {
					return
				}
			}
		}
		head := make([]byte, ndjsonSniff)
		n, err := io.ReadFull(br, head)
		head = head[:n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		} else if err == nil && ndjsonHead(head) {
			if opt.Workers > 1 {
				decodeParallel(head, br, name, opt, yield)
				return
			}
			stream(head, br)
			return
		}
		buf := head
		if err == nil && n == ndjsonSniff {
			var more []byte
			more, err = io.ReadAll(io.LimitReader(br, MaxDocumentSize+1-int64(n)))
			buf = append(head, more...)
		}
		if err != nil && len(buf) == 0 {
			yield(readError(name, err))
			return
		}
		if err == nil && len(buf) <= MaxDocumentSize {
			for _, res := range decodeDocument(buf, name) {
				opt.apply(&res)
				if !yield(res) {
					return
				}
			}
			return
		}
		if err == nil && recordsHead(buf) {
			// A CloudTrail log file larger than one document: one element at a time.
			streamRecords(io.MultiReader(bytes.NewReader(buf), br), name, opt, yield)
			return
		}
		// Too large for one document (or a read error part-way): stream what we have, then the rest.
		var rest io.Reader = br
		if err != nil {
			rest = &errReader{err: err}
		}
		stream(buf, rest)
	}
}

// apply clears what opt says the caller does not use.
func (opt Options) apply(res *Result) {
	if opt.NoRaw {
		res.Raw = nil
	}
	if opt.NoTags {
		for i := range res.Events {
			res.Events[i].Tags = nil
		}
	}
	if opt.NoRef && res.Err == nil && res.Skip == "" {
		res.Ref = ""
	}
}

// ndjsonSniff is how much DecodeReaderWith reads before deciding whether the input is NDJSON.
const ndjsonSniff = 64 << 10

// ndjsonHead reports whether head starts with a line holding one whole JSON object and has more
// than white space after it: decodeDocument would then stream the input.
func ndjsonHead(head []byte) bool {
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return false
	}
	line := bytes.TrimSpace(head[:nl])
	return len(line) > 0 && line[0] == '{' && len(bytes.TrimSpace(head[nl+1:])) > 0 && json.Valid(line)
}

// DecodeFile decodes the file at path with DecodeReader; Refs use path as the name. A file that
// cannot be opened yields one error Result.
func DecodeFile(path string) iter.Seq[Result] { return DecodeFileWith(path, Options{}) }

// DecodeFileWith is DecodeFile with options.
func DecodeFileWith(path string, opt Options) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(readError(path, err))
			return
		}
		defer f.Close()
		for res := range DecodeReaderWith(f, path, opt) {
			if !yield(res) {
				return
			}
		}
	}
}

func readError(name string, err error) Result {
	ref := name + ":0"
	return Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: fmt.Errorf("read: %w", err)}}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// peekReader keeps the first bytes of r for sniffing without consuming them.
type peekReader struct {
	head []byte
	off  int
	r    io.Reader
}

func newPeekReader(r io.Reader) *peekReader {
	head := make([]byte, 2)
	n, _ := io.ReadFull(r, head)
	return &peekReader{head: head[:n], r: r}
}

func (p *peekReader) Read(b []byte) (int, error) {
	if p.off < len(p.head) {
		n := copy(b, p.head[p.off:])
		p.off += n
		return n, nil
	}
	return p.r.Read(b)
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func collect(seq iter.Seq[Result]) []Result {
	var out []Result
	for r := range seq {
		out = append(out, r)
	}
	return out
}

// decodeDocument sniffs a single JSON document; anything else goes to Stream.
func decodeDocument(data []byte, name string) []Result {
	if res, ok := fastDocument(data, name); ok {
		return []Result{res}
	}
	return decodeDocumentSlow(data, name)
}

// decodeDocumentSlow is decodeDocument without the bare-record fast path.
func decodeDocumentSlow(data []byte, name string) []Result {
	stream := func() []Result { return collect(streamSeq(newStreamBytes(data, name))) }
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return stream()
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return stream()
	}
	if len(bytes.TrimSpace(trimmed[dec.InputOffset():])) > 0 {
		return stream() // several values: NDJSON or concatenated
	}
	if field, err := jsonstrict.Check(trimmed, reflect.TypeOf(top)); err != nil {
		// {"Records":[…],"Records":[…]}: which list is meant depends on the reader.
		return []Result{errorResult(name+":1", field, err)}
	}
	if recs, ok := top["Records"]; ok {
		return decodeLambdaRecords(recs, name)
	}
	if recs, ok := top["records"]; ok {
		if _, fh := top["deliveryStreamArn"]; fh {
			return decodeFirehoseDocument(trimmed, top, recs, name)
		}
		if _, fh := top["invocationId"]; fh {
			return decodeFirehoseDocument(trimmed, top, recs, name)
		}
	}
	if _, ok := top["detail-type"]; ok {
		var ev events.CloudWatchEvent
		if err := strictUnmarshal(trimmed, &ev); err == nil {
			return []Result{DecodeEventBridge(ev)}
		}
	}
	if _, ok := top["TopicArn"]; ok {
		if _, ok := top["Message"]; ok {
			var id string
			_ = json.Unmarshal(top["MessageId"], &id)
			ref := "sns:" + id
			if id == "" {
				ref = name + ":1"
			}
			return []Result{decodeMessage(trimmed, "", ref, Envelope{})}
		}
	}
	// Bare records (and envelopes too broken to name): one value, decoded as a stream record so
	// its Ref is "<name>:<line>".
	return stream()
}

func streamSeq(s *Stream) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		for {
			r, ok := s.Next()
			if !ok || !yield(r) {
				return
			}
		}
	}
}

// decodeLambdaRecords handles {"Records":[...]} from SQS, SNS or Kinesis, one record at a time so a
// record that does not fit its aws-lambda-go type fails alone.
func decodeLambdaRecords(raw json.RawMessage, name string) []Result {
	var recs []json.RawMessage
	if err := json.Unmarshal(raw, &recs); err != nil {
		return []Result{errorResult(name+":0", "Records", jsonError(err))}
	}
	// Fast path: a batch whose records all fit the aws-lambda-go type of its first record is
	// decoded in one pass, exactly as a Lambda handler would.
	if len(recs) > 0 {
		if out, ok := decodeLambdaBatch(raw, recs[0]); ok {
			return out
		}
	}
	out := make([]Result, 0, len(recs))
	for i, rec := range recs {
		out = append(out, decodeLambdaRecord(rec, i, name))
	}
	return out
}

// decodeLambdaBatch decodes Records typed by the shape of first; false when that type does not fit
// every record (the caller then goes record by record).
func decodeLambdaBatch(raw, first json.RawMessage) ([]Result, bool) {
	var probe struct {
		SNS     json.RawMessage `json:"Sns"`
		Kinesis json.RawMessage `json:"kinesis"`
		Body    *string         `json:"body"`
	}
	if strictUnmarshal(first, &probe) != nil {
		return nil, false
	}
	switch {
	case probe.SNS != nil:
		var recs []events.SNSEventRecord
		if strictUnmarshal(raw, &recs) != nil {
			return nil, false
		}
		return DecodeSNS(events.SNSEvent{Records: recs}), true
	case probe.Kinesis != nil:
		var recs []events.KinesisEventRecord
		if strictUnmarshal(raw, &recs) != nil {
			return nil, false
		}
		return DecodeKinesis(events.KinesisEvent{Records: recs}), true
	case probe.Body != nil:
		var recs []events.SQSMessage
		if strictUnmarshal(raw, &recs) != nil {
			return nil, false
		}
		return DecodeSQS(events.SQSEvent{Records: recs}), true
	}
	return nil, false
}

func decodeLambdaRecord(rec json.RawMessage, i int, name string) Result {
	var keys map[string]json.RawMessage
	if err := strictUnmarshal(rec, &keys); err != nil {
		return errorResult(name+":Records["+strconv.Itoa(i)+"]", "", jsonError(err))
	}
	var src string
	for _, k := range [...]string{"eventSource", "EventSource"} {
		if v, ok := keys[k]; ok {
			_ = json.Unmarshal(v, &src)
		}
	}
	_, hasUser := keys["userIdentity"]
	if _, hasVersion := keys["eventVersion"]; hasUser || hasVersion {
		// A CloudTrail log file ({"Records":[...]}, as CloudTrail writes to S3).
		return decodeCloudTrail(rec, "", name+":Records["+strconv.Itoa(i)+"]", Envelope{})
	}
	_, hasSNS := keys["Sns"]
	_, hasKinesis := keys["kinesis"]
	_, hasBody := keys["body"]
	switch {
	case src == "aws:sns" || hasSNS:
		var r events.SNSEventRecord
		if err := strictUnmarshal(rec, &r); err != nil {
			id := idOf(keys["Sns"], "MessageId")
			return errorResult(refOr("sns:", id, i), jsonErrorField(err), jsonError(err))
		}
		return decodeSNSRecord(r, i)
	case src == "aws:kinesis" || hasKinesis:
		var r events.KinesisEventRecord
		if err := strictUnmarshal(rec, &r); err != nil {
			id := idOf(keys["kinesis"], "sequenceNumber")
			return errorResult(refOr("kinesis:", id, i), fieldOr(jsonErrorField(err), "kinesis.data"), jsonError(err))
		}
		return decodeKinesisRecord(r, i)
	case src == "aws:sqs" || hasBody:
		var r events.SQSMessage
		if err := strictUnmarshal(rec, &r); err != nil {
			return errorResult(refOr("sqs:", idOf(rec, "messageId"), i), jsonErrorField(err), jsonError(err))
		}
		return decodeSQSMessage(r, i)
	}
	ref := name + ":Records[" + strconv.Itoa(i) + "]"
	return errorResult(ref, "eventSource", fmt.Errorf("unsupported Lambda event source %q", truncate([]byte(src), 40)))
}

func decodeFirehoseDocument(data []byte, top map[string]json.RawMessage, raw json.RawMessage, name string) []Result {
	var whole events.KinesisFirehoseEvent
	if strictUnmarshal(data, &whole) == nil {
		return DecodeFirehose(whole) // every record fits the type: one pass
	}
	var head events.KinesisFirehoseEvent
	for k, dst := range map[string]*string{"deliveryStreamArn": &head.DeliveryStreamArn, "region": &head.Region, "invocationId": &head.InvocationID} {
		if v, ok := top[k]; ok {
			_ = json.Unmarshal(v, dst)
		}
	}
	env := firehoseEnvelope(head)
	var recs []json.RawMessage
	if err := json.Unmarshal(raw, &recs); err != nil {
		return []Result{errorResult(name+":0", "records", jsonError(err))}
	}
	out := make([]Result, 0, len(recs))
	for i, rec := range recs {
		var r events.KinesisFirehoseEventRecord
		if err := strictUnmarshal(rec, &r); err != nil {
			out = append(out, errorResult(refOr("firehose:", idOf(rec, "recordId"), i), fieldOr(jsonErrorField(err), "data"), jsonError(err)))
			continue
		}
		res := decodeFirehoseRecord(env, r, i)
		out = append(out, res)
	}
	return out
}

// strictUnmarshal is json.Unmarshal with jsonstrict's rule; jsonErrorField and jsonError report
// its *strictError like a wrong type.
func strictUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	if field, err := jsonstrict.Check(data, reflect.TypeOf(v)); err != nil {
		return &strictError{field: field, err: err}
	}
	return nil
}

// idOf extracts a string member of a JSON object, best effort, for naming a broken record.
func idOf(obj json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}

func refOr(prefix, id string, i int) string {
	if id == "" {
		return prefix + "Records[" + strconv.Itoa(i) + "]"
	}
	return prefix + id
}

// fieldOr names the field a non-type error (e.g. bad base64) is about.
func fieldOr(field, def string) string {
	if field == "" {
		return def
	}
	return field
}
