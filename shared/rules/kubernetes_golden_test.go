package rules_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// loadAuditCase reads a file of events/kubernetes/: one pretty-printed
// CloudWatch Logs subscription payload of an EKS audit log stream, holding
// one audit event, assessed by each engine.
func loadAuditCase(t *testing.T, c *corpusCase, raw []byte, engines []*rules.Engine, seen map[string]string) {
	t.Helper()
	var compact, pretty bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatalf("events/%s: %v", c.path, err)
	}
	if err := json.Indent(&pretty, compact.Bytes(), "", "  "); err != nil {
		t.Fatalf("events/%s: %v", c.path, err)
	}
	pretty.WriteByte('\n')
	if !bytes.Equal(pretty.Bytes(), raw) {
		t.Errorf("events/%s is not pretty-printed with two-space indentation and a final newline", c.path)
	}
	sub, err := k8saudit.DecodeSubscription(raw)
	if err != nil {
		t.Fatalf("events/%s: %v", c.path, err)
	}
	if k8saudit.Cluster(sub.LogGroup) == "" || !k8saudit.AuditStream(sub.LogStream) || len(sub.LogEvents) != 1 {
		t.Errorf("events/%s: want one event of an EKS audit log stream (/aws/eks/<cluster>/cluster, kube-apiserver-audit-*), got %d in %s %s",
			c.path, len(sub.LogEvents), sub.LogGroup, sub.LogStream)
	}
	if c.audit, err = sub.Events(""); err != nil {
		t.Fatalf("events/%s: %v", c.path, err)
	}
	for _, ev := range c.audit {
		if prev, dup := seen[ev.AuditID]; dup {
			t.Errorf("events/%s: auditID %s is also used by events/%s", c.path, ev.AuditID, prev)
		}
		seen[ev.AuditID] = c.path
	}
	for _, e := range engines {
		var got []finding.Finding
		for _, ev := range c.audit {
			got = append(got, e.AssessAudit(ev)...)
		}
		got = sorted(got)
		c.findings = append(c.findings, got)
		c.golden = append(c.golden, marshalFindings(t, got))
	}
}

// eventName is what the events README shows in its Event column.
func (c *corpusCase) eventName() string {
	if c.rec != nil {
		return c.rec.EventName
	}
	if len(c.audit) == 0 {
		return ""
	}
	ev := c.audit[0]
	s := ev.Verb
	if ev.ObjectRef != nil {
		s += " " + ev.ObjectRef.Resource
	}
	return s
}

// reads reports whether the rule looks at the case's event.
func reads(r *rules.Rule, c *corpusCase) bool {
	if c.rec != nil {
		for _, e := range r.Events() {
			if e == c.rec.EventName {
				return true
			}
		}
		return false
	}
	for _, ev := range c.audit {
		if r.ReadsAudit(ev) {
			return true
		}
	}
	return false
}
