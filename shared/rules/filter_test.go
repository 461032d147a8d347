package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/k8saudit"
)

// filterMatch evaluates a CloudWatch Logs JSON filter pattern, in the part
// of the syntax AuditFilterPattern writes ({ }, ( ), &&, ||, and
// $.field = "value" with * as a wildcard: a field that does not exist
// matches no value), against one JSON log event.
func filterMatch(t *testing.T, pattern string, event []byte) bool {
	t.Helper()
	var doc any
	if err := json.Unmarshal(event, &doc); err != nil {
		t.Fatal(err)
	}
	p := &patternParser{s: strings.TrimSpace(pattern), doc: doc}
	if !p.eat("{") {
		t.Fatalf("pattern %q does not open with {", pattern)
	}
	v := p.or(t)
	if !p.eat("}") || strings.TrimSpace(p.s) != "" {
		t.Fatalf("pattern %q: unexpected %q", pattern, p.s)
	}
	return v
}

type patternParser struct {
	s   string
	doc any
}

func (p *patternParser) eat(tok string) bool {
	p.s = strings.TrimLeft(p.s, " ")
	if strings.HasPrefix(p.s, tok) {
		p.s = p.s[len(tok):]
		return true
	}
	return false
}

func (p *patternParser) or(t *testing.T) bool {
	v := p.and(t)
	for p.eat("||") {
		v = p.and(t) || v
	}
	return v
}

func (p *patternParser) and(t *testing.T) bool {
	v := p.term(t)
	for p.eat("&&") {
		v = p.term(t) && v
	}
	return v
}

func (p *patternParser) term(t *testing.T) bool {
	if p.eat("(") {
		v := p.or(t)
		if !p.eat(")") {
			t.Fatalf("unbalanced parenthesis at %q", p.s)
		}
		return v
	}
	if !p.eat("$.") {
		t.Fatalf("want a $.field at %q", p.s)
	}
	i := strings.Index(p.s, " = \"")
	if i < 0 {
		t.Fatalf("want $.field = \"value\" at %q", p.s)
	}
	path := strings.Split(p.s[:i], ".")
	p.s = p.s[i+len(` = "`):]
	j := strings.IndexByte(p.s, '"')
	want := p.s[:j]
	p.s = p.s[j+1:]
	var v any = p.doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	got, ok := v.(string)
	if !ok {
		return false
	}
	if prefix, wild := strings.CutSuffix(want, "*"); wild {
		return strings.HasPrefix(got, prefix)
	}
	return got == want
}

// The subscription's filter pattern lets through every audit event some
// rule reads, and not the others: the corpus of events/kubernetes and the
// rules' examples.
func TestAuditFilterPatternPassesWhatTheRulesRead(t *testing.T) {
	pattern := AuditFilterPattern()
	var cases []*k8saudit.Event
	var raws [][]byte
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "kubernetes", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples under events/kubernetes: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := k8saudit.DecodeSubscription(b)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := sub.Events("")
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			cases, raws = append(cases, ev), append(raws, []byte(sub.LogEvents[i].Message))
		}
	}
	for _, r := range All() {
		for _, ex := range r.Examples {
			if ex.Audit == "" {
				continue
			}
			ev := exampleAuditEvent(t, ex.Audit)
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			cases, raws = append(cases, ev), append(raws, raw)
		}
	}
	passed, held := 0, 0
	for i, ev := range cases {
		reads := false
		for _, r := range All() {
			reads = reads || r.ReadsAudit(ev)
		}
		if got := filterMatch(t, pattern, raws[i]); got != reads {
			t.Errorf("%s %s (audit %s): the filter pattern lets it through: %v, a rule reads it: %v", ev.Verb, ev.Object(), ev.AuditID, got, reads)
		} else if got {
			passed++
		} else {
			held++
		}
	}
	if passed == 0 || held == 0 {
		t.Errorf("%d events let through and %d held back; want some of each", passed, held)
	}
}
