package awstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// FillSecurityHub installs, in front of moto, the Security Hub behaviour moto 5.2.1 lacks and
// sesguard depends on (it keeps no state of its own; everything lives in moto, so Reset clears it):
//   - BatchImportFindings and BatchUpdateFindings answer 401 InvalidAccessException ("not
//     subscribed") until EnableSecurityHub was called, as Security Hub does;
//   - a new finding starts with Workflow.Status NEW; on an existing finding BatchImportFindings
//     ignores Note, UserDefinedFields, VerificationState and Workflow (the analyst's fields; AWS
//     API reference, BatchImportFindings), where moto would overwrite them;
//   - BatchUpdateFindings (PATCH /findings/batchupdate): Note (with UpdatedAt) and Workflow.Status
//     of each identified finding; unknown ids come back as UnprocessedFindings FindingNotFound.
func (m *Moto) FillSecurityHub() {
	m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		if SigningService(r) != "securityhub" {
			return false
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/findings/import":
			m.hubImport(w, r)
		case r.Method == http.MethodPatch && r.URL.Path == "/findings/batchupdate":
			m.hubUpdate(w, r)
		default:
			return false
		}
		return true
	})
}

// hubEnabled asks moto's DescribeHub; it answers the error itself when Security Hub is off.
func (m *Moto) hubEnabled(w http.ResponseWriter, r *http.Request) bool {
	rec := m.forward(r, http.MethodGet, "/accounts", nil)
	if rec.Code == http.StatusOK {
		return true
	}
	writeAWSError(w, r, http.StatusUnauthorized, "InvalidAccessException",
		fmt.Sprintf("Account %s is not subscribed to AWS Security Hub", Account))
	return false
}

// hubFindings is moto's complete finding list by Id (moto ignores GetFindings filters).
func (m *Moto) hubFindings(r *http.Request) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	token := ""
	for {
		req := map[string]any{"MaxResults": 100}
		if token != "" {
			req["NextToken"] = token
		}
		body, _ := json.Marshal(req)
		rec := m.forward(r, http.MethodPost, "/findings", body)
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("moto GetFindings: %d %s", rec.Code, rec.Body.String())
		}
		var page struct {
			Findings  []map[string]any
			NextToken *string
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			id, _ := f["Id"].(string)
			out[id] = f
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		token = *page.NextToken
	}
}

func (m *Moto) hubImport(w http.ResponseWriter, r *http.Request) {
	if !m.hubEnabled(w, r) {
		return
	}
	raw, err := readBody(r)
	if err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "InvalidInputException", err.Error())
		return
	}
	var in struct{ Findings []map[string]any }
	if err := json.Unmarshal(raw, &in); err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "InvalidInputException", err.Error())
		return
	}
	if len(in.Findings) > 100 {
		writeAWSError(w, r, http.StatusBadRequest, "InvalidInputException", "Findings: at most 100 per request")
		return
	}
	existing, err := m.hubFindings(r)
	if err != nil {
		writeAWSError(w, r, http.StatusInternalServerError, "InternalException", err.Error())
		return
	}
	for _, f := range in.Findings {
		id, _ := f["Id"].(string)
		if _, ok := existing[id]; ok {
			for _, k := range []string{"Note", "UserDefinedFields", "VerificationState", "Workflow", "WorkflowState"} {
				delete(f, k)
			}
			continue
		}
		if _, ok := f["Workflow"]; !ok {
			f["Workflow"] = map[string]any{"Status": "NEW"}
		}
	}
	body, _ := json.Marshal(in)
	copyResponse(w, m.forward(r, r.Method, r.URL.Path, body), nil)
}

func (m *Moto) hubUpdate(w http.ResponseWriter, r *http.Request) {
	if !m.hubEnabled(w, r) {
		return
	}
	raw, err := readBody(r)
	if err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "InvalidInputException", err.Error())
		return
	}
	var in struct {
		FindingIdentifiers []struct{ Id, ProductArn string }
		Note               *struct{ Text, UpdatedBy string }
		Workflow           *struct{ Status string }
	}
	if err := json.Unmarshal(raw, &in); err != nil || len(in.FindingIdentifiers) == 0 || len(in.FindingIdentifiers) > 100 {
		writeAWSError(w, r, http.StatusBadRequest, "InvalidInputException", "FindingIdentifiers: 1 to 100 identifiers required")
		return
	}
	existing, err := m.hubFindings(r)
	if err != nil {
		writeAWSError(w, r, http.StatusInternalServerError, "InternalException", err.Error())
		return
	}
	type ident = map[string]string
	processed, unprocessed := []ident{}, []map[string]any{}
	var updated []map[string]any
	for _, id := range in.FindingIdentifiers {
		f, ok := existing[id.Id]
		if !ok || f["ProductArn"] != id.ProductArn {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": ident{"Id": id.Id, "ProductArn": id.ProductArn},
				"ErrorCode": "FindingNotFound", "ErrorMessage": "finding not found"})
			continue
		}
		if in.Note != nil {
			f["Note"] = map[string]any{"Text": in.Note.Text, "UpdatedBy": in.Note.UpdatedBy, "UpdatedAt": time.Now().UTC().Format(time.RFC3339Nano)}
		}
		if in.Workflow != nil {
			f["Workflow"] = map[string]any{"Status": in.Workflow.Status}
		}
		updated = append(updated, f)
		processed = append(processed, ident{"Id": id.Id, "ProductArn": id.ProductArn})
	}
	if len(updated) > 0 {
		// moto's import merges into the stored finding: the way to write the analyst's fields.
		body, _ := json.Marshal(map[string]any{"Findings": updated})
		if rec := m.forward(r, http.MethodPost, "/findings/import", body); rec.Code != http.StatusOK {
			writeAWSError(w, r, http.StatusInternalServerError, "InternalException", "moto import: "+rec.Body.String())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})
}
