package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

// A role EKS names as a cluster or node role, but that no roles.* pattern
// matches, is outside the iam function's grants (the stack scopes its IAM
// statements to the patterns): the fix is held as needs-review, naming the
// role and the pattern list to add it to, and no IAM call is made, not even
// the pre-check.
func TestFixOutsideTheGrantsIsHeldForReview(t *testing.T) {
	const (
		worker = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
		cni    = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
		vpc    = "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
		admin  = "arn:aws:iam::aws:policy/AdministratorAccess"
	)
	roleName := func(name string) func(map[string]any) {
		return func(d map[string]any) { d["requestParameters"].(map[string]any)["roleName"] = name }
	}
	tests := []struct {
		name, event, role string
		change            func(map[string]any)
		cluster           awsfake.Cluster
		attached          []string
		action, list      string
	}{
		{"node role of a node group, policy detached", "iam/detach-worker-node-policy-from-unrecognised-role.json", "legacy-workers", nil,
			awsfake.Cluster{Name: "legacy", RoleARN: "arn:aws:iam::111122223333:role/legacy-control",
				Nodegroups: map[string]string{"workers": "arn:aws:iam::111122223333:role/legacy-workers"}},
			[]string{cni}, finding.ActionAttachRolePolicy, "roles.node"},
		{"cluster role of a cluster, policy detached", "iam/detach-vpc-resource-controller-from-cluster-role.json", "legacy-control", roleName("legacy-control"),
			awsfake.Cluster{Name: "legacy", RoleARN: "arn:aws:iam::111122223333:role/legacy-control"},
			[]string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}, finding.ActionAttachRolePolicy, "roles.cluster"},
		{"node role of a node group, admin attached", "iam/attach-administrator-access-to-node-role.json", "legacy-workers", roleName("legacy-workers"),
			awsfake.Cluster{Name: "legacy", Nodegroups: map[string]string{"workers": "arn:aws:iam::111122223333:role/legacy-workers"}},
			[]string{worker, admin}, finding.ActionDetachRolePolicy, "roles.node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, families.IAM, remediateAll, nil)
			h.w.EKS.Put(tt.cluster)
			h.w.IAM.PutRole(tt.role, tt.attached...)
			if err := h.g.HandleEvent(context.Background(), event(t, tt.event, tt.change)); err != nil {
				t.Fatal(err)
			}
			nodegroups := []string{}
			if len(tt.cluster.Nodegroups) > 0 {
				nodegroups = []string{"eks:DescribeNodegroup"}
			}
			want := append([]string{"eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups"}, nodegroups...) // enrichment
			want = append(want, "dynamodb:UpdateItem", "ssm:GetParameter", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
			h.ops(want...)
			var held *finding.Finding
			for _, f := range h.published() {
				if f.Plan != nil && f.Plan.RoleName == tt.role && f.Plan.Action == tt.action {
					held = &f
				}
			}
			if held == nil {
				t.Fatalf("no finding with a %s plan for %s among %+v", tt.action, tt.role, h.published())
			}
			o := held.Outcome
			if o.Status != finding.StatusNeedsReview || o.ErrorCode != "" {
				t.Errorf("outcome: got %s (%s), want needs-review without an error code", o.Status, o.ErrorCode)
			}
			for _, w := range []string{"role " + tt.role + " is outside eksguard's IAM grants", `Add "` + tt.role + `" to ` + tt.list,
				"aws iam " + map[string]string{finding.ActionAttachRolePolicy: "attach", finding.ActionDetachRolePolicy: "detach"}[tt.action] + "-role-policy --role-name " + tt.role} {
				if !strings.Contains(o.Message, w) {
					t.Errorf("outcome message: got %q, want it to contain %q", o.Message, w)
				}
			}
			if got, _ := h.w.IAM.Attached(tt.role); strings.Join(got, ",") != strings.Join(tt.attached, ",") {
				t.Errorf("attached: got %v, want %v unchanged", got, tt.attached)
			}
		})
	}
}
