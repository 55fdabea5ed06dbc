package awstest

import (
	"net/http"
	"path"
	"sync"
	"time"
)

// FaultKind is what a fault rule answers instead of moto.
type FaultKind int

// Fault kinds. Each is shaped for the request's protocol (query XML, JSON, REST-JSON) so the SDK
// parses it into the same typed error a real service would produce.
const (
	// FaultThrottle answers a throttling error: 400 Throttling (query), 400 ThrottlingException
	// (JSON), 429 TooManyRequestsException (REST). The SDK's standard retryer retries it.
	FaultThrottle FaultKind = iota + 1
	// FaultServerError answers 500 InternalFailure (retried by the SDK).
	FaultServerError
	// FaultAccessDenied answers 403 AccessDenied (query) / AccessDeniedException (not retried).
	FaultAccessDenied
	// FaultDelay holds the request for Fault.Delay, then passes it on unless the client gave up;
	// with a client timeout shorter than Delay it is a timeout.
	FaultDelay
)

// Fault is one fault-injection rule.
type Fault struct {
	// Service is the SigV4 signing service ("iam", "ses", "dynamodb", ...); "" matches any.
	Service string
	// Operation is matched with path.Match against Operation(r): an IAM/SNS Action
	// ("UpdateAccessKey"), a JSON target op ("PutItem") or "METHOD /path" for SESv2
	// ("PUT /v2/email/configuration-sets/*/sending"). "" matches any.
	Operation string
	// Match, when set, must also accept the request (e.g. one access key id: see FormValue).
	Match func(r *http.Request) bool
	Kind  FaultKind
	// Times is how many matching calls to fault; 0 means every matching call.
	Times int
	// Delay is used by FaultDelay.
	Delay time.Duration
}

// FaultRule is an installed Fault with counters.
type FaultRule struct {
	f       Fault
	mu      sync.Mutex
	hits    int
	matched int
}

// Hits is how many requests the rule answered with its fault.
func (fr *FaultRule) Hits() int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return fr.hits
}

// Matched is how many requests matched the rule, faulted or (after Times ran out) passed on.
func (fr *FaultRule) Matched() int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return fr.matched
}

// Fault installs a fault rule in front of everything else (moto, fillers and Handle handlers).
// Rules are checked in the order installed; the first active matching rule answers.
func (m *Moto) Fault(f Fault) *FaultRule {
	fr := &FaultRule{f: f}
	m.faults.mu.Lock()
	m.faults.rules = append(m.faults.rules, fr)
	m.faults.mu.Unlock()
	return fr
}

// ClearFaults removes every fault rule.
func (m *Moto) ClearFaults() { m.faults.reset() }

type faults struct {
	mu    sync.Mutex
	rules []*FaultRule
}

func (fs *faults) reset() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

// take returns the first rule that matches and still has faults to give, counting it.
func (fs *faults) take(r *http.Request) *FaultRule {
	fs.mu.Lock()
	rules := append([]*FaultRule(nil), fs.rules...)
	fs.mu.Unlock()
	if len(rules) == 0 {
		return nil
	}
	svc, op := SigningService(r), Operation(r)
	for _, fr := range rules {
		if fr.f.Service != "" && fr.f.Service != svc {
			continue
		}
		if fr.f.Operation != "" {
			if ok, _ := path.Match(fr.f.Operation, op); !ok {
				continue
			}
		}
		if fr.f.Match != nil && !fr.f.Match(r) {
			continue
		}
		fr.mu.Lock()
		fr.matched++
		active := fr.f.Times == 0 || fr.hits < fr.f.Times
		if active {
			fr.hits++
		}
		fr.mu.Unlock()
		if active {
			return fr
		}
	}
	return nil
}

func (fs *faults) serve(w http.ResponseWriter, r *http.Request) bool {
	fr := fs.take(r)
	if fr == nil {
		return false
	}
	switch fr.f.Kind {
	case FaultThrottle:
		switch protocolOf(r) {
		case protoQuery:
			writeAWSError(w, r, http.StatusBadRequest, "Throttling", "Rate exceeded (awstest fault)")
		case protoJSON:
			writeAWSError(w, r, http.StatusBadRequest, "ThrottlingException", "Rate exceeded (awstest fault)")
		default:
			writeAWSError(w, r, http.StatusTooManyRequests, "TooManyRequestsException", "Too many requests (awstest fault)")
		}
	case FaultServerError:
		writeAWSError(w, r, http.StatusInternalServerError, "InternalFailure", "internal failure (awstest fault)")
	case FaultAccessDenied:
		code := "AccessDeniedException"
		if protocolOf(r) == protoQuery {
			code = "AccessDenied"
		}
		writeAWSError(w, r, http.StatusForbidden, code, "User is not authorized to perform this action (awstest fault)")
	case FaultDelay:
		t := time.NewTimer(fr.f.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			// The client gave up: the request never reaches moto.
			return true
		case <-t.C:
			return false
		}
	default:
		writeAWSError(w, r, http.StatusInternalServerError, "InternalFailure", "unknown awstest fault kind")
	}
	return true
}
