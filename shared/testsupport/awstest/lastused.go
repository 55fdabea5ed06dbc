package awstest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// SeedKeyLastUsed makes IAM GetAccessKeyLastUsed report that keyID was last used for service
// ("ses", "ses-smtp", ...) in region at t. moto cannot record SES use by itself. The key must
// exist in moto (its owner's name is taken from moto's answer); unseeded keys pass through.
func (m *Moto) SeedKeyLastUsed(keyID, service, region string, t time.Time) {
	m.lastUsed.mu.Lock()
	defer m.lastUsed.mu.Unlock()
	if m.lastUsed.rows == nil {
		m.lastUsed.rows = map[string]lastUsed{}
	}
	m.lastUsed.rows[keyID] = lastUsed{service: service, region: region, at: t.UTC()}
}

type lastUsed struct {
	service, region string
	at              time.Time
}

type lastUsedTable struct {
	m    *Moto
	mu   sync.Mutex
	rows map[string]lastUsed
}

func (lt *lastUsedTable) reset() {
	lt.mu.Lock()
	lt.rows = nil
	lt.mu.Unlock()
}

func (lt *lastUsedTable) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost || SigningService(r) != "iam" || Operation(r) != "GetAccessKeyLastUsed" {
		return false
	}
	form, err := readForm(r)
	if err != nil {
		return false
	}
	keyID := form.Get("AccessKeyId")
	lt.mu.Lock()
	row, ok := lt.rows[keyID]
	lt.mu.Unlock()
	if !ok {
		return false
	}
	body, _ := readBody(r)
	rec := lt.m.forward(r, r.Method, r.URL.Path, body)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec, nil)
		return true
	}
	var got struct {
		UserName string `xml:"GetAccessKeyLastUsedResult>UserName"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		writeAWSError(w, r, http.StatusInternalServerError, "InternalFailure", "awstest: parse moto GetAccessKeyLastUsed: "+err.Error())
		return true
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<GetAccessKeyLastUsedResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`+
		`<GetAccessKeyLastUsedResult><AccessKeyLastUsed><Region>%s</Region><LastUsedDate>%s</LastUsedDate>`+
		`<ServiceName>%s</ServiceName></AccessKeyLastUsed><UserName>%s</UserName></GetAccessKeyLastUsedResult>`+
		`<ResponseMetadata><RequestId>awstest-lastused</RequestId></ResponseMetadata></GetAccessKeyLastUsedResponse>`,
		xmlEscape(row.region), row.at.Format(time.RFC3339), xmlEscape(row.service), xmlEscape(got.UserName))
	return true
}
