package remediate_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
)

func TestRoleScopeARNs(t *testing.T) {
	s := remediate.RoleScope{Cluster: []string{"*-cluster-role", "eksctl-*-cluster-ServiceRole-*"}, Node: []string{"*-cluster-role", "team/*-nodes"}}
	got := s.ARNs("arn:aws:iam::1:role/")
	want := []string{
		"arn:aws:iam::1:role/*-cluster-role",
		"arn:aws:iam::1:role/eksctl-*-cluster-ServiceRole-*", "arn:aws:iam::1:role/*/eksctl-*-cluster-ServiceRole-*",
		"arn:aws:iam::1:role/team/*-nodes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRoleScopeCovers(t *testing.T) {
	s := remediate.RoleScopeOf(&policy.Policy{Roles: policy.Roles{Cluster: []string{"*-cluster-role", "AmazonEKSAutoClusterRole*"}, Node: []string{"*-node-role"}}})
	for _, tt := range []struct {
		role string
		want bool
	}{
		{"payments-prod-cluster-role", true},
		{"payments-prod-node-role", true},
		{"AmazonEKSAutoClusterRole-abc", true},
		{"legacy-workers", false},
		{"payments-control-plane", false},
		{"payments-prod-cluster-role2", false},
		{"", false},
	} {
		if got := s.Covers(tt.role); got != tt.want {
			t.Errorf("Covers(%q): got %v, want %v", tt.role, got, tt.want)
		}
	}
}

// An IAM plan on a role outside the executor's scope fails before any
// call, the pre-check included; inside it, the pre-check runs.
func TestIAMPlanOutsideTheRoleScopeMakesNoCall(t *testing.T) {
	w := awsfake.New(t)
	w.IAM.PutRole("legacy-workers", cniPol)
	w.IAM.PutRole("payments-node-role", cniPol)
	e := executor(w)
	e.RoleScope = &remediate.RoleScope{Node: []string{"*-node-role"}}
	ctx := context.Background()
	for _, action := range []string{finding.ActionAttachRolePolicy, finding.ActionDetachRolePolicy} {
		w.Log.Reset()
		_, err := e.Prepare(ctx, "eu-west-1", &finding.Plan{Action: action, RoleName: "legacy-workers", PolicyARN: workerPol}, "")
		var se *remediate.ScopeError
		if !errors.As(err, &se) || se.Role != "legacy-workers" || se.Action != action || remediate.ErrorCode(err) != "OutsideGrants" {
			t.Fatalf("%s on legacy-workers: got %v (code %q), want a ScopeError, code OutsideGrants", action, err, remediate.ErrorCode(err))
		}
		checkCalls(t, w.Log.Calls(), nil)
	}
	w.Log.Reset()
	act, err := e.Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: "payments-node-role", PolicyARN: workerPol}, "")
	if err != nil || !act.Needed {
		t.Fatalf("attach to payments-node-role: got %+v, %v; want a needed action", act, err)
	}
	checkCalls(t, w.Log.Calls(), []step{{call: "iam ListAttachedRolePolicies POST /",
		body: "Action=ListAttachedRolePolicies&RoleName=payments-node-role&Version=2010-05-08"}})
	// EKS plans are not limited by the role scope.
	if err := e.InScope(&finding.Plan{Action: finding.ActionDeleteAccessEntry, Cluster: "c", PrincipalARN: dev}); err != nil {
		t.Errorf("InScope of an EKS plan: got %v, want nil", err)
	}
}
