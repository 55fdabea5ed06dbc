package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
)

// SigningService returns the SigV4 credential-scope service of a request ("iam", "ses" for SESv2,
// "dynamodb", "sns", ...), or "" when the request is unsigned. moto routes on the same value.
func SigningService(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	scope := auth[i+len("Credential="):]
	if j := strings.IndexAny(scope, ", "); j >= 0 {
		scope = scope[:j]
	}
	// access-key/date/region/service/aws4_request
	parts := strings.Split(scope, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

// Operation names the operation of a request the way fault rules match it: the form Action for
// query protocols (IAM, SNS, EC2), the X-Amz-Target operation for JSON protocols (DynamoDB, SQS),
// and "METHOD /path" for REST protocols (SESv2), e.g. "PUT /v2/email/account/sending".
// It reads and restores the request body.
func Operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:]
		}
		return t
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := readForm(r); err == nil && form.Get("Action") != "" {
			return form.Get("Action")
		}
	}
	return r.Method + " " + r.URL.Path
}

// FormValue returns a parameter of a form-encoded (query protocol) request, e.g. the AccessKeyId
// of an IAM call, leaving the body readable for later handlers.
func FormValue(r *http.Request, key string) string {
	form, err := readForm(r)
	if err != nil {
		return ""
	}
	return form.Get(key)
}

// readBody returns the request body and puts an identical reader back for later handlers.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}

func readForm(r *http.Request) (url.Values, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(b))
}

// protocol is the wire protocol of a request, which decides how an error must be shaped.
type protocol int

const (
	protoREST  protocol = iota // REST-JSON (SESv2): X-Amzn-ErrorType header
	protoQuery                 // query/XML (IAM, SNS, EC2)
	protoJSON                  // JSON 1.0/1.1 (DynamoDB, SQS): __type in the body
)

func protocolOf(r *http.Request) protocol {
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		return protoJSON
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		return protoQuery
	}
	return protoREST
}

// writeAWSError answers r with an AWS error of the given code in the request's protocol.
func writeAWSError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	switch protocolOf(r) {
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awstest-fault</RequestId></ErrorResponse>`,
			typ, xmlEscape(code), xmlEscape(msg))
	case protoJSON:
		body, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", code)
		// DynamoDB clients verify this checksum on every answer.
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// forward sends a copy of r (with the given method, path and body) to moto and returns its
// answer, so a layer can inspect or rewrite what moto says.
func (m *Moto) forward(r *http.Request, method, path string, body []byte) *httptest.ResponseRecorder {
	req := r.Clone(r.Context())
	req.Method = method
	req.URL.Path = path
	req.URL.RawPath = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	m.rp.ServeHTTP(rec, req)
	return rec
}

// copyResponse writes a recorded answer to w, replacing the body when body is non-nil.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, vs := range rec.Header() {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if body == nil {
		body = rec.Body.Bytes()
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
