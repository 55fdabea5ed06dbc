package awstest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// sesv2Filler answers the SESv2 operations moto 5.2.1 lacks and keeps their state:
//   - GetAccount (GET /v2/email/account) and PutAccountSendingAttributes (PUT .../account/sending)
//   - PutConfigurationSetSendingOptions (PUT /v2/email/configuration-sets/{name}/sending) and the
//     initial SendingOptions of CreateConfigurationSet, reflected
//     in GetConfigurationSet's SendingOptions
//   - Create/Get/Update/DeleteConfigurationSetEventDestination(s)
//     (/v2/email/configuration-sets/{name}/event-destinations[/{dest}])
//   - PutEmailIdentityConfigurationSetAttributes (PUT /v2/email/identities/{id}/configuration-set),
//     reflected as ConfigurationSetName in GetEmailIdentity
//   - CreateEmailIdentityPolicy (POST /v2/email/identities/{id}/policies/{name}) answers 400
//     AlreadyExistsException when the identity already has a policy of that name, as SES does;
//     moto silently overwrites it
//   - SendEmail (POST /v2/email/outbound-emails) answers 400 SendingPausedException while the
//     account, or the message's configuration set (explicit, else the From identity's default), is
//     paused.
//
// As in the AWS SDK, a PUT body without SendingEnabled means false (pause).
type sesv2Filler struct {
	m  *Moto
	mu sync.Mutex
	st sesState
}

type sesState struct {
	accountPaused bool
	setPaused     map[string]bool        // configuration set -> paused
	destinations  map[string][]eventDest // configuration set -> destinations
	identitySet   map[string]string      // identity -> default configuration set
}

type eventDest struct {
	Name string
	Def  map[string]any
}

func newSESv2Filler(m *Moto) *sesv2Filler {
	f := &sesv2Filler{m: m}
	f.reset()
	return f
}

func (f *sesv2Filler) reset() {
	f.mu.Lock()
	f.st = sesState{setPaused: map[string]bool{}, destinations: map[string][]eventDest{}, identitySet: map[string]string{}}
	f.mu.Unlock()
}

// AccountSendingPaused reports the account-level pause flag the filler holds.
func (m *Moto) AccountSendingPaused() bool {
	m.ses.mu.Lock()
	defer m.ses.mu.Unlock()
	return m.ses.st.accountPaused
}

// ConfigurationSetSendingPaused reports whether the filler holds set as paused.
func (m *Moto) ConfigurationSetSendingPaused(set string) bool {
	m.ses.mu.Lock()
	defer m.ses.mu.Unlock()
	return m.ses.st.setPaused[set]
}

const sesPrefix = "/v2/email/"

func (f *sesv2Filler) serve(w http.ResponseWriter, r *http.Request) bool {
	svc := SigningService(r)
	if svc != "" && svc != "ses" && svc != "email" {
		return false
	}
	if !strings.HasPrefix(r.URL.Path, sesPrefix) {
		return false
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, sesPrefix), "/")
	switch {
	case len(parts) == 1 && parts[0] == "account" && r.Method == http.MethodGet:
		f.getAccount(w)
	case len(parts) == 2 && parts[0] == "account" && parts[1] == "sending" && r.Method == http.MethodPut:
		enabled, ok := f.sendingEnabled(w, r)
		if !ok {
			return true
		}
		f.mu.Lock()
		f.st.accountPaused = !enabled
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, struct{}{})
	case len(parts) == 1 && parts[0] == "configuration-sets" && r.Method == http.MethodPost:
		f.createConfigurationSet(w, r)
	case len(parts) == 2 && parts[0] == "configuration-sets" && r.Method == http.MethodGet:
		f.getConfigurationSet(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "configuration-sets" && r.Method == http.MethodDelete:
		rec := f.m.forward(r, r.Method, r.URL.Path, nil)
		if rec.Code == http.StatusOK {
			f.mu.Lock()
			delete(f.st.setPaused, parts[1])
			delete(f.st.destinations, parts[1])
			f.mu.Unlock()
		}
		copyResponse(w, rec, nil)
	case len(parts) == 3 && parts[0] == "configuration-sets" && parts[2] == "sending" && r.Method == http.MethodPut:
		if !f.setExists(w, r, parts[1]) {
			return true
		}
		enabled, ok := f.sendingEnabled(w, r)
		if !ok {
			return true
		}
		f.mu.Lock()
		f.st.setPaused[parts[1]] = !enabled
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, struct{}{})
	case len(parts) >= 3 && len(parts) <= 4 && parts[0] == "configuration-sets" && parts[2] == "event-destinations":
		f.eventDestinations(w, r, parts[1], parts[3:])
	case len(parts) == 3 && parts[0] == "identities" && parts[2] == "configuration-set" && r.Method == http.MethodPut:
		f.putIdentityConfigurationSet(w, r, parts[1])
	case len(parts) == 4 && parts[0] == "identities" && parts[2] == "policies" && r.Method == http.MethodPost:
		f.createIdentityPolicy(w, r, parts[1], parts[3])
	case len(parts) == 2 && parts[0] == "identities" && r.Method == http.MethodGet:
		f.getEmailIdentity(w, r, parts[1])
	case len(parts) == 1 && r.Method == http.MethodPost && listShimPaths[parts[0]] != "":
		f.list(w, r, parts[0]) // see sesv2_lists.go
	case len(parts) == 1 && parts[0] == "outbound-emails" && r.Method == http.MethodPost:
		return f.sendEmail(w, r)
	default:
		return false
	}
	return true
}

// sendingEnabled decodes {"SendingEnabled": bool}; an absent field is false, as the SDK omits it.
func (f *sesv2Filler) sendingEnabled(w http.ResponseWriter, r *http.Request) (bool, bool) {
	body, err := readBody(r)
	if err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "read body: "+err.Error())
		return false, false
	}
	var in struct {
		SendingEnabled *bool
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "decode body: "+err.Error())
			return false, false
		}
	}
	return in.SendingEnabled != nil && *in.SendingEnabled, true
}

func (f *sesv2Filler) getAccount(w http.ResponseWriter) {
	f.mu.Lock()
	enabled := !f.st.accountPaused
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"SendingEnabled":               enabled,
		"ProductionAccessEnabled":      true,
		"DedicatedIpAutoWarmupEnabled": false,
		"EnforcementStatus":            "HEALTHY",
		"SendQuota":                    map[string]float64{"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": 0},
	})
}

// setExists asks moto whether the configuration set exists, answering NotFoundException if not.
func (f *sesv2Filler) setExists(w http.ResponseWriter, r *http.Request, name string) bool {
	rec := f.m.forward(r, http.MethodGet, sesPrefix+"configuration-sets/"+name, nil)
	if rec.Code == http.StatusOK {
		return true
	}
	writeAWSError(w, r, http.StatusNotFound, "NotFoundException", "Configuration set <"+name+"> does not exist.")
	return false
}

func (f *sesv2Filler) getConfigurationSet(w http.ResponseWriter, r *http.Request, name string) {
	rec := f.m.forward(r, r.Method, r.URL.Path, nil)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec, nil)
		return
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		copyResponse(w, rec, nil)
		return
	}
	f.mu.Lock()
	paused, known := f.st.setPaused[name]
	f.mu.Unlock()
	if !known {
		paused = !motoSendingEnabled(out["SendingOptions"])
	}
	out["SendingOptions"] = map[string]bool{"SendingEnabled": !paused}
	body, _ := json.Marshal(out)
	copyResponse(w, rec, body)
}

// createConfigurationSet passes the call to moto and keeps the initial sending flag itself:
// moto cannot tell SendingOptions {} (the SDK's encoding of false: paused) from no options.
func (f *sesv2Filler) createConfigurationSet(w http.ResponseWriter, r *http.Request) {
	body, _ := readBody(r)
	rec := f.m.forward(r, r.Method, r.URL.Path, body)
	var in struct {
		ConfigurationSetName string
		SendingOptions       *struct{ SendingEnabled *bool }
	}
	if rec.Code == http.StatusOK && json.Unmarshal(body, &in) == nil && in.SendingOptions != nil {
		f.mu.Lock()
		f.st.setPaused[in.ConfigurationSetName] = in.SendingOptions.SendingEnabled == nil || !*in.SendingOptions.SendingEnabled
		f.mu.Unlock()
	}
	copyResponse(w, rec, nil)
}

// motoSendingEnabled reads moto 5.2.1's SendingOptions, which nests the creation input one level
// too deep ({"SendingEnabled": {"SendingEnabled": false}}, or {"SendingEnabled": {}} when absent;
// the SDK cannot parse either). Absent means enabled, the SES default.
func motoSendingEnabled(v any) bool {
	for range 3 {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		inner, ok := m["SendingEnabled"]
		if !ok {
			return true
		}
		if b, ok := inner.(bool); ok {
			return b
		}
		v = inner
	}
	return true
}

func (f *sesv2Filler) eventDestinations(w http.ResponseWriter, r *http.Request, set string, rest []string) {
	if !f.setExists(w, r, set) {
		return
	}
	body, _ := readBody(r)
	var in struct {
		EventDestinationName string
		EventDestination     map[string]any
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "decode body: "+err.Error())
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dests := f.st.destinations[set]
	find := func(name string) int {
		for i, d := range dests {
			if d.Name == name {
				return i
			}
		}
		return -1
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		out := make([]map[string]any, 0, len(dests))
		for _, d := range dests {
			m := map[string]any{"Name": d.Name}
			for k, v := range d.Def {
				m[k] = v
			}
			if _, ok := m["Enabled"]; !ok {
				m["Enabled"] = false
			}
			out = append(out, m)
		}
		writeJSON(w, http.StatusOK, map[string]any{"EventDestinations": out})
	case len(rest) == 0 && r.Method == http.MethodPost:
		if in.EventDestinationName == "" {
			writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "EventDestinationName is required")
			return
		}
		if find(in.EventDestinationName) >= 0 {
			writeAWSError(w, r, http.StatusBadRequest, "AlreadyExistsException", "Event destination "+in.EventDestinationName+" already exists.")
			return
		}
		f.st.destinations[set] = append(dests, eventDest{Name: in.EventDestinationName, Def: in.EventDestination})
		writeJSON(w, http.StatusOK, struct{}{})
	case len(rest) == 1 && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
		i := find(rest[0])
		if i < 0 {
			writeAWSError(w, r, http.StatusNotFound, "NotFoundException", "Event destination "+rest[0]+" does not exist.")
			return
		}
		if r.Method == http.MethodPut {
			dests[i].Def = in.EventDestination
		} else {
			f.st.destinations[set] = append(dests[:i:i], dests[i+1:]...)
		}
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "awstest: unsupported event-destinations call "+r.Method)
	}
}

func (f *sesv2Filler) putIdentityConfigurationSet(w http.ResponseWriter, r *http.Request, identity string) {
	rec := f.m.forward(r, http.MethodGet, sesPrefix+"identities/"+identity, nil)
	if rec.Code != http.StatusOK {
		writeAWSError(w, r, http.StatusNotFound, "NotFoundException", "Email identity <"+identity+"> does not exist.")
		return
	}
	body, _ := readBody(r)
	var in struct{ ConfigurationSetName string }
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "decode body: "+err.Error())
			return
		}
	}
	if in.ConfigurationSetName != "" && !f.setExists(w, r, in.ConfigurationSetName) {
		return
	}
	f.mu.Lock()
	if in.ConfigurationSetName == "" {
		delete(f.st.identitySet, identity)
	} else {
		f.st.identitySet[identity] = in.ConfigurationSetName
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, struct{}{})
}

// createIdentityPolicy refuses a name the identity already has, then lets moto create it.
func (f *sesv2Filler) createIdentityPolicy(w http.ResponseWriter, r *http.Request, identity, name string) {
	rec := f.m.forward(r, http.MethodGet, sesPrefix+"identities/"+identity+"/policies", nil)
	if rec.Code == http.StatusOK {
		var out struct{ Policies map[string]string }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err == nil {
			if _, exists := out.Policies[name]; exists {
				writeAWSError(w, r, http.StatusBadRequest, "AlreadyExistsException",
					"Policy "+name+" already exists for identity "+identity+".")
				return
			}
		}
	}
	body, err := readBody(r)
	if err != nil {
		writeAWSError(w, r, http.StatusBadRequest, "BadRequestException", "read body: "+err.Error())
		return
	}
	copyResponse(w, f.m.forward(r, r.Method, r.URL.Path, body), nil)
}

func (f *sesv2Filler) getEmailIdentity(w http.ResponseWriter, r *http.Request, identity string) {
	rec := f.m.forward(r, r.Method, r.URL.Path, nil)
	f.mu.Lock()
	set, ok := f.st.identitySet[identity]
	f.mu.Unlock()
	if rec.Code != http.StatusOK || !ok {
		copyResponse(w, rec, nil)
		return
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		copyResponse(w, rec, nil)
		return
	}
	out["ConfigurationSetName"] = set
	body, _ := json.Marshal(out)
	copyResponse(w, rec, body)
}

// sendEmail refuses a send while paused and passes it to moto otherwise.
func (f *sesv2Filler) sendEmail(w http.ResponseWriter, r *http.Request) bool {
	body, err := readBody(r)
	if err != nil {
		return false
	}
	var in struct {
		FromEmailAddress     string
		ConfigurationSetName string
	}
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	accountPaused := f.st.accountPaused
	set := in.ConfigurationSetName
	if set == "" {
		set = f.defaultSetLocked(in.FromEmailAddress)
	}
	setPaused := set != "" && f.st.setPaused[set]
	f.mu.Unlock()
	switch {
	case accountPaused:
		writeAWSError(w, r, http.StatusBadRequest, "SendingPausedException", "Sending is paused for this account.")
		return true
	case setPaused:
		writeAWSError(w, r, http.StatusBadRequest, "SendingPausedException", "Sending is paused for configuration set "+set+".")
		return true
	}
	return false
}

// defaultSetLocked finds the default configuration set of the identity that covers from: the
// address itself, else its domain (SES uses the most specific verified identity).
func (f *sesv2Filler) defaultSetLocked(from string) string {
	addr := from
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	addr = strings.TrimSpace(addr)
	if s, ok := f.st.identitySet[addr]; ok {
		return s
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		if s, ok := f.st.identitySet[addr[i+1:]]; ok {
			return s
		}
	}
	return ""
}

// EventDestinationNames lists the event destinations the filler holds for a configuration set.
func (m *Moto) EventDestinationNames(set string) []string {
	m.ses.mu.Lock()
	defer m.ses.mu.Unlock()
	var out []string
	for _, d := range m.ses.st.destinations[set] {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}
