// Package findingtest holds hand-built findings, shaped like the rule
// engine's, for the tests of the packages that render them.
package findingtest

import (
	"github.com/eksguard/eksguard/shared/finding"
)

// Actor is a sample finding (or actor) for tests.
func Actor() finding.Actor {
	return finding.Actor{
		ARN:       "arn:aws:sts::111122223333:assumed-role/dev-team/alice",
		Type:      "AssumedRole",
		Role:      "arn:aws:iam::111122223333:role/dev-team",
		AccountID: "111122223333",
		SourceIP:  "198.51.100.7",
		UserAgent: "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023 command/eks.update-cluster-config",
		MFA:       false,
	}
}

// LoggingFinding is a sample finding (or actor) for tests.
func LoggingFinding() *finding.Finding {
	return &finding.Finding{
		Rule: "control-plane-logging-disabled", Severity: finding.High,
		Title:   "Required control-plane logging turned off",
		Summary: "audit, authenticator logging turned off on cluster payments-prod",
		EventID: "3b1c7a8e-1f7e-4a55-9d55-0d0f1c2b3a4d", EventName: "UpdateClusterConfig", EventTime: "2025-03-14T03:02:11Z",
		Account: "111122223333", Region: "eu-west-1", Cluster: "payments-prod",
		Actor:  Actor(),
		Before: "audit, authenticator enabled", After: "audit, authenticator disabled",
		Mode: finding.ModeRemediate,
		Plan: &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "payments-prod",
			EnableLogTypes: []string{"audit", "authenticator"}, Reason: "re-enables only the required types that were turned off"},
		Outcome: &finding.Outcome{Status: finding.StatusRemediated, Attempts: 1},
	}
}

// AdminFinding is a sample finding (or actor) for tests.
func AdminFinding() *finding.Finding {
	a := Actor()
	a.Console, a.MFA, a.UserAgent = true, true, "AWS Internal"
	return &finding.Finding{
		Rule: "cluster-admin-granted", Severity: finding.Critical,
		Title:   "Cluster-admin access granted to a non-admin principal",
		Summary: "arn:aws:iam::111122223333:role/ci-runner was granted AmazonEKSClusterAdminPolicy on cluster payments-prod (cluster scope) and is not a listed admin",
		EventID: "9f0e2d41-8c3b-4e6a-b1d2-77aa55cc3e10", EventName: "AssociateAccessPolicy", EventTime: "2025-03-14T03:05:40Z",
		Account: "111122223333", Region: "eu-west-1", Cluster: "payments-prod",
		Principal: "arn:aws:iam::111122223333:role/ci-runner",
		Actor:     a,
		After:     "AmazonEKSClusterAdminPolicy at cluster scope",
		Mode:      finding.ModeRemediate,
		Plan: &finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "payments-prod",
			PrincipalARN: "arn:aws:iam::111122223333:role/ci-runner",
			PolicyARN:    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"},
		Outcome: &finding.Outcome{Status: finding.StatusFailed, ErrorCode: "AccessDeniedException",
			Message: "User: arn:aws:sts::111122223333:assumed-role/eksguard-access/x is not authorized to perform: eks:DisassociateAccessPolicy", Attempts: 3},
	}
}

// IamFinding is a sample finding (or actor) for tests.
func IamFinding() *finding.Finding {
	return &finding.Finding{
		Rule: "required-policy-detached", Severity: finding.High,
		Title:   "Policy an EKS role needs was detached",
		Summary: "AmazonEKSWorkerNodePolicy detached from node role payments-node-role",
		EventID: "c0ffee00-1111-2222-3333-444455556666", EventName: "DetachRolePolicy", EventTime: "2025-03-14T03:10:00Z",
		Account: "111122223333", Region: "us-east-1",
		Principal: "arn:aws:iam::111122223333:role/payments-node-role",
		Actor:     Actor(),
		Before:    "AmazonEKSWorkerNodePolicy attached", After: "detached",
		Mode: finding.ModeRemediate,
		Plan: &finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: "payments-node-role",
			PolicyARN: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"},
		Outcome: &finding.Outcome{Status: finding.StatusSkippedKill},
	}
}

// NotifyOnlyFinding is a sample finding (or actor) for tests.
func NotifyOnlyFinding() *finding.Finding {
	return &finding.Finding{
		Rule: "authentication-mode-changed", Severity: finding.Medium,
		Title:   "Cluster authentication mode changed",
		Summary: "authentication mode of cluster payments-prod changed to API (one-way)",
		EventID: "ab12cd34-0000-4000-8000-000000000001", EventName: "UpdateClusterConfig", EventTime: "2025-03-14T03:20:00Z",
		Account: "111122223333", Region: "eu-west-1", Cluster: "payments-prod",
		Actor: Actor(), After: "authenticationMode API", Mode: finding.ModeNotify,
	}
}

// LowFinding is a sample finding (or actor) for tests.
func LowFinding() *finding.Finding {
	f := NotifyOnlyFinding()
	f.Rule, f.Severity, f.Title = "cluster-created-insecure", finding.Low, "Cluster created without the security baseline"
	return f
}
