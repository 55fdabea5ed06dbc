package awstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
)

// sesv2 v1.79.x (the pinned SDK) sends ListConfigurationSets and ListEmailIdentities as
// POST /v2/email/list-configuration-sets and POST /v2/email/list-identities with
// {"NextToken","PageSize","Filter"} in a JSON body; moto 5.2.1 only knows the older
// GET /v2/email/configuration-sets and GET /v2/email/identities with query parameters and answers
// the POSTs with an HTML 404. listShim translates (Filter is ignored: moto has no equivalent).
var listShimPaths = map[string]string{
	"list-configuration-sets": sesPrefix + "configuration-sets",
	"list-identities":         sesPrefix + "identities",
}

func (f *sesv2Filler) list(w http.ResponseWriter, r *http.Request, op string) {
	body, err := readBody(r)
	if err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "read body: "+err.Error())
		return
	}
	var in struct {
		NextToken string
		PageSize  *int
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "decode body: "+err.Error())
			return
		}
	}
	q := url.Values{}
	if in.NextToken != "" {
		q.Set("NextToken", in.NextToken)
	}
	if in.PageSize != nil {
		q.Set("PageSize", strconv.Itoa(*in.PageSize))
	}
	req := r.Clone(r.Context())
	req.Method = http.MethodGet
	req.URL.Path = listShimPaths[op]
	req.URL.RawPath = ""
	req.URL.RawQuery = q.Encode()
	req.Body = http.NoBody
	req.ContentLength = 0
	req.Header.Del("Content-Type")
	req.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	f.m.rp.ServeHTTP(rec, req)
	copyResponse(w, rec, nil)
}
