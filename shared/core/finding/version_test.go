package finding

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildProducer(t *testing.T) {
	tests := []struct {
		b    Build
		want string
	}{
		{Build{Version: "(devel)"}, ""},
		{Build{Version: "v1.4.0"}, "v1.4.0"},
		{Build{Version: "(devel)", Revision: "0123456789abcdef0123"}, "(devel)+0123456789ab"},
		{Build{Version: "v1.4.0", Revision: "0123456789abcdef0123", Modified: true}, "v1.4.0+0123456789ab-dirty"},
		// Go 1.24+ pseudo-versions already name the commit (and +dirty).
		{Build{Version: "v0.0.0-20261207143624-0123456789ab", Revision: "0123456789abcdef0123"}, "v0.0.0-20261207143624-0123456789ab"},
		{Build{Version: "v0.0.0-20261207143624-0123456789ab+dirty", Revision: "0123456789abcdef0123", Modified: true}, "v0.0.0-20261207143624-0123456789ab+dirty"},
	}
	for _, tt := range tests {
		if got := tt.b.Producer(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.b, got, tt.want)
		}
	}
}

// TestProducerVersionWire: the field is additive — absent when unknown, named producer_version
// when set, and old messages still decode.
func TestProducerVersionWire(t *testing.T) {
	f := Finding{Schema: SchemaFinding, ID: "x"}
	b, _ := json.Marshal(&f)
	if strings.Contains(string(b), "producer_version") {
		t.Errorf("empty producer_version serialised: %s", b)
	}
	f.ProducerVersion = "v1.4.0+0123456789ab"
	b, _ = json.Marshal(&f)
	if !strings.Contains(string(b), `"producer_version":"v1.4.0+0123456789ab"`) {
		t.Errorf("producer_version missing: %s", b)
	}
	got, _, err := Decode(b)
	if err != nil || got.ProducerVersion != f.ProducerVersion {
		t.Fatalf("round trip: %v %+v", err, got)
	}
}

func TestBuildFrom(t *testing.T) {
	bi, err := debug.ParseBuildInfo("go\tgo1.26.8\npath\tgithub.com/sesguard/sesguard/cmd/sesguard\nmod\tgithub.com/sesguard/sesguard\tv1.4.0\t\n" +
		"build\tvcs=git\nbuild\tvcs.revision=0123456789abcdef0123456789abcdef01234567\nbuild\tvcs.time=2026-12-07T13:00:00Z\nbuild\tvcs.modified=true\n")
	if err != nil {
		t.Fatal(err)
	}
	b := buildFrom(bi)
	want := Build{Module: "github.com/sesguard/sesguard", Version: "v1.4.0", Revision: "0123456789abcdef0123456789abcdef01234567",
		Time: "2026-12-07T13:00:00Z", Modified: true, Go: bi.GoVersion}
	if b != want {
		t.Fatalf("got %+v, want %+v", b, want)
	}
	if got := b.Producer(); got != "v1.4.0+0123456789ab-dirty" {
		t.Errorf("producer %q", got)
	}
}
