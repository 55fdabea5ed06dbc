package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The CloudWatch SDK (v1.75.6) speaks Smithy RPC v2 CBOR; moto 5.2.1's CloudWatch speaks the
// query and JSON 1.0 protocols only (a CBOR request gets a 404). The proxy translates: a CBOR
// request is re-encoded as JSON 1.0 for moto, and moto's JSON answer as CBOR, so the real SDK
// client (and the real Lambda binaries) reach moto's real CloudWatch store.

const cborPrefix = "/service/GraniteServiceVersion20100801/operation/"

// serveCloudWatchCBOR translates one RPC v2 CBOR CloudWatch call; false for any other request.
func serveCloudWatchCBOR(motoURL string, w http.ResponseWriter, r *http.Request) bool {
	op, ok := strings.CutPrefix(r.URL.Path, cborPrefix)
	if !ok || r.Method != http.MethodPost {
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	in := any(map[string]any{})
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			http.Error(w, "awstest: CloudWatch CBOR request: "+err.Error(), http.StatusBadRequest)
			return true
		}
		in = cborToJSON(v)
	}
	js, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, motoURL+"/", bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("Authorization", r.Header.Get("Authorization")) // moto routes on the signing service
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return true
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v any = map[string]any{}
	if len(bytes.TrimSpace(out)) > 0 {
		if err := dec.Decode(&v); err != nil {
			http.Error(w, fmt.Sprintf("awstest: moto CloudWatch %s answered non-JSON: %.200s", op, out), http.StatusBadGateway)
			return true
		}
	}
	if m, ok := v.(map[string]any); ok && m["__type"] != nil && m["message"] == nil && m["Message"] != nil {
		m["message"] = m["Message"] // RPC v2 reads the lower-case member
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(cbor.Encode(jsonToCBOR("", v)))
	return true
}

// cborToJSON maps a decoded CBOR request to JSON 1.0 values; epoch timestamps (tag 1) become
// epoch-seconds numbers, as JSON 1.0 writes them.
func cborToJSON(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cborToJSON(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cborToJSON(e)
		}
		return l
	case *cbor.Tag:
		return cborToJSON(x.Value)
	case cbor.String:
		return string(x)
	case cbor.Uint:
		return uint64(x)
	case cbor.NegInt:
		return -int64(x)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case cbor.Slice:
		return []byte(x)
	}
	return nil
}

// jsonToCBOR maps moto's JSON answer to CBOR; members named Timestamp(s) are epoch timestamps
// (tag 1), the only timestamps CloudWatch's metric-data answers carry.
func jsonToCBOR(key string, v any) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "__type" {
				// JSON 1.0 errors name the shape with a namespace prefix; RPC v2 wants it too.
				m[k] = cbor.String(x[k].(string))
				continue
			}
			m[k] = jsonToCBOR(k, x[k])
		}
		return m
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = jsonToCBOR(key, e)
		}
		return l
	case json.Number:
		if key == "Timestamps" || key == "Timestamp" || strings.HasSuffix(key, "Timestamp") {
			f, _ := x.Float64()
			return &cbor.Tag{ID: 1, Value: cbor.Float64(f)}
		}
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				if n < 0 {
					return cbor.NegInt(uint64(-n))
				}
				return cbor.Uint(uint64(n))
			}
		}
		f, _ := x.Float64()
		return cbor.Float64(f)
	case string:
		return cbor.String(x)
	case bool:
		return cbor.Bool(x)
	}
	return &cbor.Nil{}
}
