package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

const (
	clusterRoleARN = "arn:aws:iam::111122223333:role/prod-cluster-role"
	nodeRoleARN    = "arn:aws:iam::111122223333:role/prod-node-role"
	shopRoleARN    = "arn:aws:iam::111122223333:role/shop-web"
	editARN        = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
)

func managed(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "arn:aws:iam::aws:policy/" + n
	}
	return out
}

// cleanCluster is a cluster that meets ExamplePolicy in every respect.
func cleanCluster() *clusterstate.Cluster {
	on, off := true, false
	return &clusterstate.Cluster{
		Account: home, Region: "eu-west-1", Name: "prod",
		ARN:                   "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
		RoleARN:               clusterRoleARN,
		EndpointPublicAccess:  false,
		EndpointPrivateAccess: true,
		LogTypes:              map[string]bool{"api": true, "audit": true, "authenticator": true, "scheduler": false},
		AuthenticationMode:    "API",
		BootstrapCreatorAdmin: &off,
		SecretsKeyARN:         "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		DeletionProtection:    &on,
		AccessEntries: []clusterstate.AccessEntry{
			{PrincipalARN: admin, Type: "STANDARD", Policies: []clusterstate.AccessPolicy{{PolicyARN: clusterAdminARN, ScopeType: "cluster"}}},
			{PrincipalARN: glass, Type: "STANDARD", Policies: []clusterstate.AccessPolicy{{PolicyARN: viewARN, ScopeType: "cluster"}}},
			{PrincipalARN: devRole, Type: "STANDARD", KubernetesGroups: []string{"developers"},
				Policies: []clusterstate.AccessPolicy{{PolicyARN: editARN, ScopeType: "namespace", Namespaces: []string{"team-a"}}}},
			{PrincipalARN: nodeRoleARN, Type: "EC2_LINUX"},
		},
		PodIdentities: []clusterstate.PodIdentity{{AssociationID: "a-1", Namespace: "shop", ServiceAccount: "web", RoleARN: shopRoleARN}},
		Nodegroups:    []clusterstate.Nodegroup{{Name: "ng-1", NodeRoleARN: nodeRoleARN, AMIType: "AL2023_x86_64_STANDARD"}},
		Roles: map[string]*clusterstate.Role{
			clusterRoleARN: {ARN: clusterRoleARN, Name: "prod-cluster-role", AttachedPolicies: managed("AmazonEKSClusterPolicy")},
			nodeRoleARN: {ARN: nodeRoleARN, Name: "prod-node-role",
				AttachedPolicies: managed("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")},
			shopRoleARN: {ARN: shopRoleARN, Name: "shop-web", AttachedPolicies: managed("AmazonS3ReadOnlyAccess")},
		},
	}
}

func examplePolicy(t *testing.T, extra string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(ExamplePolicy+extra), "ExamplePolicy", IDs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStateForms holds the catalogue to its declaration: every rule has a
// state form or is listed in NoState with a reason, never both, and NoState
// names only rules of the catalogue.
func TestStateForms(t *testing.T) {
	ids := IDs()
	for _, r := range All() {
		reason, listed := NoState[r.ID]
		switch {
		case r.State == nil && !listed:
			t.Errorf("%s: no state form and not in NoState", r.ID)
		case r.State != nil && listed:
			t.Errorf("%s: has a state form and is in NoState (%q)", r.ID, reason)
		case listed && strings.TrimSpace(reason) == "":
			t.Errorf("%s: in NoState without a reason", r.ID)
		case r.State != nil && r.State.Judge == nil:
			t.Errorf("%s: state form without a judgement", r.ID)
		}
	}
	for id := range NoState {
		if !slices.Contains(ids, id) {
			t.Errorf("NoState names %s, which is not a rule", id)
		}
	}
	// The issue names these as change-only rules.
	for _, id := range []string{"authentication-mode-changed", "access-change-denied", "eks-role-trust-changed", "eks-role-inline-policy-changed"} {
		if _, ok := NoState[id]; !ok {
			t.Errorf("%s: got a state form, want none (it only describes a change)", id)
		}
	}
}

func TestStateClean(t *testing.T) {
	if got := AssessState(cleanCluster(), examplePolicy(t, "")); len(got) != 0 {
		for _, f := range got {
			t.Errorf("clean cluster: got %s: %s", f.Rule, f.Summary)
		}
	}
}

type stateWant struct {
	rule     string
	severity finding.Severity
	summary  string
	action   string // the plan's action, "" for none
}

func TestStateJudgements(t *testing.T) {
	const nsAdmin = "arn:aws:iam::111122223333:role/dev-team holds AmazonEKSClusterAdminPolicy on cluster prod "
	tests := []struct {
		name   string
		change func(c *clusterstate.Cluster)
		policy string
		want   []stateWant
	}{
		{"cluster admin to a non-admin", func(c *clusterstate.Cluster) {
			c.AccessEntries[2].Policies[0] = clusterstate.AccessPolicy{PolicyARN: clusterAdminARN, ScopeType: "cluster"}
		}, "", []stateWant{{"cluster-admin-granted", finding.Critical, nsAdmin + "(cluster scope) and is not a listed admin", finding.ActionDisassociateAccessPolicy}}},
		{"cluster admin in kube-system", func(c *clusterstate.Cluster) {
			c.AccessEntries[2].Policies[0].PolicyARN = clusterAdminARN
			c.AccessEntries[2].Policies[0].Namespaces = []string{"kube-system"}
		}, "", []stateWant{{"cluster-admin-granted", finding.Critical, nsAdmin + "(namespace scope: kube-system; that takes in kube-system, whose service accounts control the cluster) and is not a listed admin", finding.ActionDisassociateAccessPolicy}}},
		{"privileged group", func(c *clusterstate.Cluster) {
			c.AccessEntries[2].KubernetesGroups = []string{"developers", "cluster-admin"}
		}, "", []stateWant{{"privileged-group-granted", finding.High, "arn:aws:iam::111122223333:role/dev-team is in privileged Kubernetes group(s) cluster-admin on cluster prod", finding.ActionUpdateAccessEntry}}},
		{"foreign principal", func(c *clusterstate.Cluster) {
			c.AccessEntries = append(c.AccessEntries, clusterstate.AccessEntry{PrincipalARN: "arn:aws:iam::444455556666:role/vendor", Type: "STANDARD"})
		}, "", []stateWant{{"foreign-principal-granted", finding.High, "access entry on cluster prod for arn:aws:iam::444455556666:role/vendor from untrusted account 444455556666", finding.ActionDeleteAccessEntry}}},
		{"IAM user", func(c *clusterstate.Cluster) {
			c.AccessEntries = append(c.AccessEntries, clusterstate.AccessEntry{PrincipalARN: "arn:aws:iam::111122223333:user/alice", Type: "STANDARD"})
		}, "", []stateWant{{"iam-user-granted", finding.Medium, "access entry on cluster prod for IAM user arn:aws:iam::111122223333:user/alice", ""}}},
		{"node entry for a dev role", func(c *clusterstate.Cluster) {
			c.AccessEntries[2].Type = "EC2_LINUX"
		}, "", []stateWant{{"node-entry-for-non-node-role", finding.High, "EC2_LINUX access entry on cluster prod for arn:aws:iam::111122223333:role/dev-team, which matches no roles.node pattern: it joins system:nodes", finding.ActionDeleteAccessEntry}}},
		{"protected principal without an entry", func(c *clusterstate.Cluster) {
			c.AccessEntries = slices.DeleteFunc(c.AccessEntries, func(e clusterstate.AccessEntry) bool { return e.PrincipalARN == glass })
		}, "", []stateWant{{"protected-access-removed", finding.High, "protected principal arn:aws:iam::111122223333:role/break-glass has no access on cluster prod: no access entry", ""}}},
		{"protected principal, aws-auth cluster", func(c *clusterstate.Cluster) {
			c.AuthenticationMode = "CONFIG_MAP"
			c.AccessEntries = nil
		}, "", nil},
		{"public endpoint open to the world", func(c *clusterstate.Cluster) {
			c.EndpointPublicAccess = true
		}, "", []stateWant{{"public-endpoint-opened", finding.High, "public endpoint of cluster prod is open to unapproved CIDRs 0.0.0.0/0: the whole internet (every public IPv4 address)", finding.ActionUpdateClusterConfig}}},
		{"public endpoint on approved CIDRs", func(c *clusterstate.Cluster) {
			c.EndpointPublicAccess, c.PublicAccessCIDRs = true, []string{"203.0.113.0/25"}
		}, "", nil},
		{"private endpoint off", func(c *clusterstate.Cluster) {
			c.EndpointPublicAccess, c.EndpointPrivateAccess, c.PublicAccessCIDRs = true, false, []string{"203.0.113.0/24"}
		}, "", []stateWant{{"private-endpoint-disabled", finding.Medium, "private endpoint access of cluster prod is off", ""}}},
		{"audit logging off", func(c *clusterstate.Cluster) {
			c.LogTypes["audit"] = false
			delete(c.LogTypes, "authenticator")
		}, "", []stateWant{{"control-plane-logging-disabled", finding.High, "audit, authenticator logging is off on cluster prod", finding.ActionUpdateClusterConfig}}},
		{"secrets not encrypted, creator is admin", func(c *clusterstate.Cluster) {
			on := true
			c.SecretsKeyARN, c.BootstrapCreatorAdmin = "", &on
		}, "", []stateWant{{"cluster-created-insecure", finding.Medium, "cluster prod runs with: no KMS encryption of secrets; creator keeps cluster-admin (bootstrapClusterCreatorAdminPermissions)", ""}}},
		{"deletion protection off", func(c *clusterstate.Cluster) {
			off := false
			c.DeletionProtection = &off
		}, "", []stateWant{{"deletion-protection-disabled", finding.High, "deletion protection of cluster prod is off: it can be deleted with one call", finding.ActionUpdateClusterConfig}}},
		{"deletion protection not reported", func(c *clusterstate.Cluster) { c.DeletionProtection = nil }, "", nil},
		{"auto mode node role of another account", func(c *clusterstate.Cluster) {
			c.AutoMode, c.AutoModeNodeRoleARN = true, "arn:aws:iam::444455556666:role/prod-node-role"
			c.Roles[clusterRoleARN].AttachedPolicies = managed("AmazonEKSClusterPolicy", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy", "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy")
		}, "", []stateWant{{"auto-mode-node-role-changed", finding.High, "Auto Mode node role of cluster prod is arn:aws:iam::444455556666:role/prod-node-role, of untrusted account 444455556666", ""}}},
		{"node group with SSH open", func(c *clusterstate.Cluster) {
			c.Nodegroups[0].EC2SSHKey = "ops"
		}, "", []stateWant{{"nodegroup-ssh-open", finding.High, "node group ng-1 of cluster prod has SSH key ops and no source security groups: port 22 (SSH) of every node is open to 0.0.0.0/0", ""}}},
		{"node group with SSH from a bastion", func(c *clusterstate.Cluster) {
			c.Nodegroups[0].EC2SSHKey, c.Nodegroups[0].SourceSecurityGroups = "ops", []string{"sg-1"}
		}, "", nil},
		{"OIDC provider", func(c *clusterstate.Cluster) {
			c.IdentityProviders = []clusterstate.IdentityProvider{{Name: "sso", Type: "oidc", IssuerURL: "https://idp.example.net", ClientID: "kubernetes", GroupsClaim: "groups"}}
		}, "", []stateWant{{"identity-provider-associated", finding.High, "OIDC identity provider sso is associated with cluster prod: issuer https://idp.example.net, client ID kubernetes, groups claim groups, username claim sub; whoever that issuer signs a token for can sign in, unseen by IAM and access entries", finding.ActionDisassociateIdentityProviderConfig}}},
		{"OIDC provider allowed", func(c *clusterstate.Cluster) {
			c.IdentityProviders = []clusterstate.IdentityProvider{{Name: "sso", Type: "oidc", IssuerURL: "https://idp.example.net"}}
		}, "identityProviders: {allowed: [\"https://idp.example.net\"]}\n", nil},
		{"pod identity with an admin role", func(c *clusterstate.Cluster) {
			c.Roles[shopRoleARN].AttachedPolicies = managed("AdministratorAccess")
		}, "", []stateWant{{"pod-identity-escalation", finding.High, "pod identity association a-1 on cluster prod gives service account shop/web arn:aws:iam::111122223333:role/shop-web: arn:aws:iam::111122223333:role/shop-web holds admin policy AdministratorAccess", finding.ActionDeletePodIdentityAssociation}}},
		{"cluster role missing its policy", func(c *clusterstate.Cluster) {
			c.Roles[clusterRoleARN].AttachedPolicies = nil
		}, "", []stateWant{{"required-policy-detached", finding.High, "AmazonEKSClusterPolicy missing from EKS cluster role prod-cluster-role", finding.ActionAttachRolePolicy}}},
		{"node role missing the CNI policy", func(c *clusterstate.Cluster) {
			c.Roles[nodeRoleARN].AttachedPolicies = managed("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
		}, "", []stateWant{{"required-policy-detached", finding.Medium, "AmazonEKS_CNI_Policy missing from role prod-node-role", ""}}},
		{"admin policy on the node role", func(c *clusterstate.Cluster) {
			c.Roles[nodeRoleARN].AttachedPolicies = append(c.Roles[nodeRoleARN].AttachedPolicies, managed("AdministratorAccess")...)
		}, "", []stateWant{{"admin-policy-attached-to-eks-role", finding.Critical, "AdministratorAccess is attached to EKS node role prod-node-role", finding.ActionDetachRolePolicy}}},
		{"allow list silences", func(c *clusterstate.Cluster) {
			c.AccessEntries = append(c.AccessEntries, clusterstate.AccessEntry{PrincipalARN: "arn:aws:iam::111122223333:user/alice", Type: "STANDARD"})
		}, "rules: {iam-user-granted: {allow: [\"arn:aws:iam::111122223333:user/alice\"]}}\n", nil},
		{"mode off silences", func(c *clusterstate.Cluster) {
			c.EndpointPrivateAccess = false
			c.EndpointPublicAccess = true
			c.PublicAccessCIDRs = []string{"203.0.113.0/24"}
		},
			"rules: {private-endpoint-disabled: {mode: off}}\n", nil},
		{"automation does not silence", func(c *clusterstate.Cluster) {
			c.AccessEntries = append(c.AccessEntries, clusterstate.AccessEntry{PrincipalARN: "arn:aws:iam::111122223333:role/terraform-deployer", Type: "STANDARD", KubernetesGroups: []string{"cluster-admin"}})
		}, "", []stateWant{{"privileged-group-granted", finding.High, "arn:aws:iam::111122223333:role/terraform-deployer is in privileged Kubernetes group(s) cluster-admin on cluster prod", finding.ActionUpdateAccessEntry}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cleanCluster()
			tt.change(c)
			got := AssessState(c, examplePolicy(t, tt.policy))
			if len(got) != len(tt.want) {
				for _, f := range got {
					t.Logf("got %s: %s", f.Rule, f.Summary)
				}
				t.Fatalf("got %d findings, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				action := ""
				if f.Plan != nil {
					action = f.Plan.Action
				}
				if f.Rule != w.rule || f.Severity != w.severity || f.Summary != w.summary || action != w.action {
					t.Errorf("got %s/%s %q plan %q, want %s/%s %q plan %q", f.Rule, f.Severity, f.Summary, action, w.rule, w.severity, w.summary, w.action)
				}
				wantCluster := "prod"
				if strings.Contains(f.Principal, ":role/") && f.Plan != nil && f.Plan.RoleName != "" || w.rule == "required-policy-detached" {
					wantCluster = "" // about an IAM role, which clusters share: no cluster, as in the event form
				}
				if f.Source != finding.SourceScan || f.Account != home || f.Region != "eu-west-1" || f.Cluster != wantCluster || f.EventID != "" {
					t.Errorf("common fields: got source %q account %q region %q cluster %q eventID %q, want scan/%s/eu-west-1/%q/none",
						f.Source, f.Account, f.Region, f.Cluster, f.EventID, home, wantCluster)
				}
				if want := ScanID(&f); f.ID != want || !strings.HasPrefix(f.ID, w.rule+"-") {
					t.Errorf("id: got %q, want %q", f.ID, want)
				}
			}
		})
	}
}

// TestScanIDStable: the same state gives the same IDs; two node groups
// with the same problem give two IDs.
func TestScanIDStable(t *testing.T) {
	c := cleanCluster()
	c.Nodegroups[0].EC2SSHKey = "ops"
	c.Nodegroups = append(c.Nodegroups, clusterstate.Nodegroup{Name: "ng-2", NodeRoleARN: nodeRoleARN, EC2SSHKey: "ops"})
	p := examplePolicy(t, "")
	a, b := AssessState(c, p), AssessState(cleanClusterWith(c), p)
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("got %d and %d findings, want 2 each", len(a), len(b))
	}
	if a[0].ID == a[1].ID {
		t.Errorf("two node groups: got the same id %s twice, want two", a[0].ID)
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Errorf("finding %d: got id %s then %s, want the same", i, a[i].ID, b[i].ID)
		}
	}
}

func cleanClusterWith(c *clusterstate.Cluster) *clusterstate.Cluster {
	cp := *c
	cp.Nodegroups = slices.Clone(c.Nodegroups)
	return &cp
}

// TestStateSharesEventJudgement: the state form of a rule and its event
// form give the same plan and severity for the same fact.
func TestStateSharesEventJudgement(t *testing.T) {
	c := cleanCluster()
	off := false
	c.DeletionProtection = &off
	st := AssessState(c, examplePolicy(t, ""))
	ex := DeletionProtectionDisabled.Examples[0]
	rec, err := cloudtrail.DecodeRecord(record(sourceOfRule(DeletionProtectionDisabled, ex.Event), ex.Event, ex.Params, ex.Response, ex.ErrorCode, ex.Actor))
	if err != nil {
		t.Fatal(err)
	}
	ev := Assess(rec, examplePolicy(t, ""))
	if len(st) != 1 || len(ev) != 1 {
		t.Fatalf("got %d state and %d event findings, want 1 each", len(st), len(ev))
	}
	if st[0].Severity != ev[0].Severity || st[0].Plan.CLI("") != ev[0].Plan.CLI("") {
		t.Errorf("got state %s %q, event %s %q; want the same", st[0].Severity, st[0].Plan.CLI(""), ev[0].Severity, ev[0].Plan.CLI(""))
	}
	if ev[0].Source != finding.SourceEvent {
		t.Errorf("event finding source: got %q, want %q", ev[0].Source, finding.SourceEvent)
	}
}
