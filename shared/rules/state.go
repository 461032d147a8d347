package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// StateForm is how a rule judges the state a scan reads instead of an
// event. Its Judge calls the same function the rule's event judgement
// calls, on the fields the snapshot holds, so the two cannot drift apart.
type StateForm struct {
	// Judge is pure: no I/O, no clock, no globals. AssessState fills in the
	// common fields afterwards. A finding sets Resource when the cluster and
	// principal alone do not tell which thing it is about (a node group, an
	// access policy), so that its ID is stable and unique.
	Judge func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding
}

// NoState lists the rules without a state form, with the reason; every
// other rule has one (a test holds the catalogue to that).
var NoState = map[string]string{
	"access-change-denied":            "judges a denied call: there is no state of an attempt",
	"config-change-denied":            "judges a denied call: there is no state of an attempt",
	"authentication-mode-changed":     "judges a one-way change; every authentication mode is a valid state",
	"cluster-deleted":                 "a deleted cluster has no state left to read",
	"cluster-network-changed":         "judges a change against the infrastructure code, which the state does not hold",
	"eks-role-trust-changed":          "judges a change of the trust policy; the state has no earlier one to compare with",
	"eks-role-inline-policy-changed":  "judges a change of an inline policy; the state has no earlier one to compare with",
	"trail-logging-stopped":           "judges CloudTrail, which the cluster scan does not read",
	"eksguard-tampered":               "judges eksguard's own resources, which the cluster scan does not read",
	"remediation-switched-off":        "judges eksguard's kill switch, which the cluster scan does not read",
	"access-granted-then-removed":     "correlates a sequence of events; state has no sequence",
	"principal-granted-many-clusters": "correlates grants over time across clusters; state has no sequence",
	// The Kubernetes audit-log rules: the scan reads the EKS and IAM APIs;
	// aws-auth and RBAC live in the Kubernetes API, for which eksguard holds
	// no credentials.
	"aws-auth-admin-mapped":  "judges a write of aws-auth in the audit log; the scan does not read the Kubernetes API",
	"aws-auth-changed":       "judges a write of aws-auth in the audit log; the scan does not read the Kubernetes API",
	"cluster-admin-bound":    "judges an RBAC write in the audit log; the scan does not read the Kubernetes API",
	"anonymous-access-bound": "judges an RBAC write in the audit log; the scan does not read the Kubernetes API",
	"impersonation-used":     "judges a request in the audit log; there is no state of a request",
}

// AssessState runs the state form of every rule that has one over one
// cluster and returns the findings with the common fields filled in, in
// the mode policy.ScanMode gives (remediate only for the rules scan.remediate
// lists). Rules in mode off give none; allow lists apply as to events. The
// automation identities do not silence state: nobody made a change now. A
// finding about an IAM role names no cluster (as its event form does), so
// two clusters sharing a role give it the same ID.
func AssessState(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
	var out []finding.Finding
	for _, rule := range All() {
		if rule.State == nil {
			continue
		}
		mode := p.ScanMode(rule.ID)
		if mode == finding.ModeOff {
			continue
		}
		for _, f := range rule.State.Judge(s, p) {
			if p.Allowed(rule.ID, f.Principal) {
				continue
			}
			fillState(&f, &rule, s, mode)
			out = append(out, f)
		}
	}
	return out
}

func fillState(f *finding.Finding, rule *Rule, s *clusterstate.Cluster, mode finding.Mode) {
	f.Rule = rule.ID
	f.Source = finding.SourceScan
	if f.Severity == 0 && rule.Severity != 0 {
		f.Severity = rule.Severity
	}
	f.Title = rule.Title
	f.Account = s.Account
	f.Region = s.Region
	f.Mode = mode
	f.ID = ScanID(f)
}

// ScanID is the stable ID of a scan finding: a digest of the rule and of
// the resource it is about (account, region, cluster, principal, resource).
func ScanID(f *finding.Finding) string {
	h := sha256.New()
	for _, part := range []string{f.Rule, f.Account, f.Region, f.Cluster, f.Principal, f.Resource} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return f.Rule + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// managedPolicyARN is the ARN of an AWS managed policy in the partition of
// another ARN.
func managedPolicyARN(inPartitionOf, name string) string {
	partition := "aws"
	if parts := strings.SplitN(inPartitionOf, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		partition = parts[1]
	}
	return "arn:" + partition + ":iam::aws:policy/" + name
}
