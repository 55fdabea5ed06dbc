package forensics

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

func TestReportFormats(t *testing.T) {
	hostile := func(e *sesevent.Event) {
		e.CallerIdentity = "=HYPERLINK(\"http://x\")"
		e.From = []sesevent.Address{{Name: "CEO", Address: "ceo\x1b[31m@evil.example"}}
	}
	r := run(t, Options{By: ByPrincipal},
		mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeBounce, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeSend, "m2", "", "203.0.113.9", time.Minute, hostile),
	)
	t.Run("table", func(t *testing.T) {
		var b bytes.Buffer
		if err := r.Write(&b, FormatTable, true); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, w := range []string{"PRINCIPAL ", "SENDS  RCPTS  DELIVERED", "OUTSIDE-NET", "IPS", "FROM", "mailer", "50.0%", "2026-05-04 09:15:00",
			"2 group(s); 3 event(s): 2 send(s), 0 duplicate send(s), 1 outcome(s) (1 joined"} {
			if !strings.Contains(out, w) {
				t.Errorf("table lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("escape sequence reached the terminal:\n%q", out)
		}
	})
	t.Run("csv", func(t *testing.T) {
		var b bytes.Buffer
		if err := r.Write(&b, FormatCSV, false); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0][0] != "principal" || rows[1][0] != "mailer" || rows[1][13] != "0.5000" {
			t.Fatalf("rows %q", rows)
		}
		for _, row := range rows {
			for _, c := range row {
				if strings.HasPrefix(c, "=") {
					t.Errorf("formula cell %q", c)
				}
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := r.Write(&b, FormatJSON, false); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.By != ByPrincipal || len(back.Groups) != 2 || back.Groups[0].Bounced != 1 || back.Summary.Sends != 2 {
			t.Errorf("round trip %+v", back)
		}
	})
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
}
