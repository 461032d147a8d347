package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/finding"
)

func TestReplayASFF(t *testing.T) {
	code, out, errOut := runCLI(t, "", "replay", events, "--output", "asff", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, errOut)
	}
	_, jsonOut, _ := runCLI(t, "", "replay", events, "--output", "json", "--fail-on", "none")
	docs := strings.Split(strings.TrimSpace(out), "\n")
	fs := strings.Split(strings.TrimSpace(jsonOut), "\n")
	if len(docs) != len(fs) {
		t.Fatalf("got %d ASFF documents, want one per finding (%d)", len(docs), len(fs))
	}
	for i, line := range docs {
		var doc asff.Finding
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("line %d is not an ASFF document: %v", i+1, err)
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(fs[i]), &f); err != nil {
			t.Fatal(err)
		}
		if doc.Id != asff.ID(&f) || doc.GeneratorId != f.Rule || doc.AwsAccountId != f.Account {
			t.Errorf("line %d: got Id %s GeneratorId %s AwsAccountId %s, want %s %s %s", i+1, doc.Id, doc.GeneratorId, doc.AwsAccountId, asff.ID(&f), f.Rule, f.Account)
		}
	}
	if code, _, errOut := runCLI(t, "", "replay", events, "--output", "xml"); code != 2 || !strings.Contains(errOut, "table, json or asff") {
		t.Errorf("--output xml: got exit %d and %q, want 2 and the formats", code, errOut)
	}
}
