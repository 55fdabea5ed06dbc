package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// Per-send findings (one per rule, principal and window) must not depend on how many events
// replay hands the detector at once: the same corpus, with the corpus policy and the flood
// policy, gives the same finding ids and counts at chunk sizes that split its 9,000 records in
// many places. (Rate findings are judged per batch, as in the pipeline: their running counts and
// samples follow the batches.)
func TestReplayChunkSizeSameSendFindings(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 6, Records: 9000, Shape: sescorpus.Shapes["independent"]}); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus.ndjson")
	if err := os.WriteFile(corpus, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	perSend := map[string]bool{rules.NetworkOutsideApproved: true, rules.SenderPrincipalUnapproved: true, rules.SenderFromUnapproved: true,
		rules.SenderIdentityUnapproved: true, rules.SenderConfigurationSetUnapproved: true, rules.RecipientDomainUnapproved: true}
	for name, policy := range map[string]string{"policy": sescorpus.Policy, "flood": sescorpus.FloodPolicy} {
		pol := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		run := func(chunk int) map[string]int64 {
			var stdout, stderr bytes.Buffer
			e := env{stdin: bytes.NewReader(nil), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, replayChunk: chunk}
			if code := commands()["replay"].run(context.Background(), e, []string{"--format", "json", "--policy", pol, corpus}); code != 0 {
				t.Fatalf("%s, chunk %d: exit %d: %s", name, chunk, code, stderr.String())
			}
			got := map[string]int64{}
			sc := bufio.NewScanner(&stdout)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var f struct {
					ID       string `json:"id"`
					Rule     string `json:"rule"`
					Evidence struct {
						Count int64 `json:"count"`
					} `json:"evidence"`
				}
				if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
					t.Fatalf("%s: %v: %s", name, err, sc.Bytes())
				}
				if perSend[f.Rule] {
					got[f.Rule+" "+f.ID] = f.Evidence.Count
				}
			}
			return got
		}
		want := run(0)
		if len(want) < 3 {
			t.Fatalf("%s: only %d per-send findings: %v", name, len(want), want)
		}
		for _, chunk := range []int{1, 97, 512, 5000} {
			got := run(chunk)
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%s, chunk %d: %s count %d, default %d", name, chunk, k, got[k], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s, chunk %d: %d per-send findings, default %d", name, chunk, len(got), len(want))
			}
		}
	}
}
