package remediate_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/remediate"
)

const (
	dev       = "arn:aws:iam::111122223333:role/dev"
	devPath   = "arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev"
	adminPol  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	adminPath = "arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy"
	viewPol   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	cniPol    = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
	workerPol = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
)

func executor(w *awsfake.World) *remediate.Executor {
	cfg := awsfake.Config("eu-west-1")
	return &remediate.Executor{
		EKS: func(region string) remediate.EKS {
			return eks.NewFromConfig(cfg, func(o *eks.Options) { o.Region = region; o.BaseEndpoint = aws.String(w.EKS.URL) })
		},
		IAM: iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(w.IAM.URL) }),
	}
}

// step is an expected call: "eks DescribeAccessEntry GET /path" and, for
// calls with a body, the body as JSON (compared structurally).
type step struct {
	call string
	body string
}

func checkCalls(t *testing.T, got []awsfake.Call, want []step) {
	t.Helper()
	if len(got) != len(want) {
		var s []string
		for _, c := range got {
			s = append(s, c.String()+" "+c.Body)
		}
		t.Fatalf("got %d calls, want %d:\n%s", len(got), len(want), strings.Join(s, "\n"))
	}
	for i, w := range want {
		if got[i].String() != w.call {
			t.Errorf("call %d = %q, want %q", i, got[i].String(), w.call)
		}
		if w.body == "" {
			continue
		}
		if got[i].Service == "iam" {
			if got[i].Body != w.body {
				t.Errorf("call %d body = %s, want %s", i, got[i].Body, w.body)
			}
			continue
		}
		var g, e any
		if err := json.Unmarshal([]byte(got[i].Body), &g); err != nil {
			t.Fatalf("call %d body %q: %v", i, got[i].Body, err)
		}
		if err := json.Unmarshal([]byte(w.body), &e); err != nil {
			t.Fatalf("bad want body %q: %v", w.body, err)
		}
		if !reflect.DeepEqual(g, e) {
			t.Errorf("call %d body = %s, want %s", i, got[i].Body, w.body)
		}
	}
}

func prodCluster() awsfake.Cluster {
	return awsfake.Cluster{
		Name: "prod", RoleARN: "arn:aws:iam::111122223333:role/prod-eks-cluster-role",
		PublicAccess: true, PrivateAccess: false, PublicCIDRs: []string{"203.0.113.0/24"},
		Logs: []string{"api", "audit", "authenticator"},
		Entries: map[string]*awsfake.AccessEntry{
			dev: {Groups: []string{"developers", "cluster-admin"}, Policies: []string{viewPol, adminPol}},
		},
	}
}

type prepCase struct {
	name   string
	setup  func(w *awsfake.World)
	plan   finding.Plan
	needed bool
	found  string // substring of Action.Found
	call   string // Action.Call when needed
	calls  []step // pre-check and apply calls
	after  func(t *testing.T, w *awsfake.World)
}

func TestPrepareAndApply(t *testing.T) {
	const token = "tok-1"
	cases := []prepCase{
		{
			name:   "disassociate still associated",
			plan:   finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "prod", PrincipalARN: dev, PolicyARN: adminPol},
			needed: true, found: "still associated",
			call: `eks:DisassociateAccessPolicy {"clusterName":"prod","policyArn":"` + adminPol + `","principalArn":"` + dev + `"}`,
			calls: []step{
				{call: "eks ListAssociatedAccessPolicies GET /clusters/prod/access-entries/" + devPath + "/access-policies"},
				{call: "eks DisassociateAccessPolicy DELETE /clusters/prod/access-entries/" + devPath + "/access-policies/" + adminPath},
			},
			after: func(t *testing.T, w *awsfake.World) {
				c, _ := w.EKS.Get("prod")
				if got := c.Entries[dev].Policies; !reflect.DeepEqual(got, []string{viewPol}) {
					t.Errorf("policies after = %v", got)
				}
			},
		},
		{
			name: "disassociate already undone",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.Entries[dev].Policies = []string{viewPol}
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "prod", PrincipalARN: dev, PolicyARN: adminPol},
			found: "no longer associated",
			calls: []step{{call: "eks ListAssociatedAccessPolicies GET /clusters/prod/access-entries/" + devPath + "/access-policies"}},
		},
		{
			name: "disassociate entry gone",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				delete(c.Entries, dev)
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "prod", PrincipalARN: dev, PolicyARN: adminPol},
			found: "no longer exists",
			calls: []step{{call: "eks ListAssociatedAccessPolicies GET /clusters/prod/access-entries/" + devPath + "/access-policies"}},
		},
		{
			name:   "delete entry",
			plan:   finding.Plan{Action: finding.ActionDeleteAccessEntry, Cluster: "prod", PrincipalARN: dev},
			needed: true, found: "still exists (type STANDARD, groups [developers, cluster-admin])",
			calls: []step{
				{call: "eks DescribeAccessEntry GET /clusters/prod/access-entries/" + devPath},
				{call: "eks DeleteAccessEntry DELETE /clusters/prod/access-entries/" + devPath},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); c.Entries[dev] != nil {
					t.Error("entry still there")
				}
			},
		},
		{
			name: "delete entry already gone",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				delete(c.Entries, dev)
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionDeleteAccessEntry, Cluster: "prod", PrincipalARN: dev},
			found: "no longer exists",
			calls: []step{{call: "eks DescribeAccessEntry GET /clusters/prod/access-entries/" + devPath}},
		},
		{
			name:   "update entry removes only the extra group",
			plan:   finding.Plan{Action: finding.ActionUpdateAccessEntry, Cluster: "prod", PrincipalARN: dev, KubernetesGroups: []string{"developers", "viewers"}},
			needed: true, found: "still has groups [cluster-admin]",
			call: `eks:UpdateAccessEntry {"clusterName":"prod","kubernetesGroups":["developers"],"principalArn":"` + dev + `"}`,
			calls: []step{
				{call: "eks DescribeAccessEntry GET /clusters/prod/access-entries/" + devPath},
				{call: "eks UpdateAccessEntry POST /clusters/prod/access-entries/" + devPath, body: `{"clientRequestToken":"tok-1","kubernetesGroups":["developers"]}`},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); !reflect.DeepEqual(c.Entries[dev].Groups, []string{"developers"}) {
					t.Errorf("groups after = %v", c.Entries[dev].Groups)
				}
			},
		},
		{
			name: "update entry to no groups sends an empty list",
			plan: finding.Plan{Action: finding.ActionUpdateAccessEntry, Cluster: "prod", PrincipalARN: dev, KubernetesGroups: nil},
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.Entries[dev].Groups = []string{"cluster-admin"}
				w.EKS.Put(c)
			},
			needed: true, found: "still has groups [cluster-admin]",
			calls: []step{
				{call: "eks DescribeAccessEntry GET /clusters/prod/access-entries/" + devPath},
				{call: "eks UpdateAccessEntry POST /clusters/prod/access-entries/" + devPath, body: `{"clientRequestToken":"tok-1","kubernetesGroups":[]}`},
			},
		},
		{
			name: "update entry already compliant",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.Entries[dev].Groups = []string{"developers"}
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionUpdateAccessEntry, Cluster: "prod", PrincipalARN: dev, KubernetesGroups: []string{"developers"}},
			found: "none beyond the allowed",
			calls: []step{{call: "eks DescribeAccessEntry GET /clusters/prod/access-entries/" + devPath}},
		},
		{
			name: "logging only the types still disabled",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.Logs = []string{"api"}
				w.EKS.Put(c)
			},
			plan:   finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"api", "audit", "authenticator"}},
			needed: true, found: "audit, authenticator logging is disabled on prod",
			call: `eks:UpdateClusterConfig {"logging":{"clusterLogging":[{"enabled":true,"types":["audit","authenticator"]}]},"name":"prod"}`,
			calls: []step{
				{call: "eks DescribeCluster GET /clusters/prod"},
				{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"tok-1","logging":{"clusterLogging":[{"enabled":true,"types":["audit","authenticator"]}]}}`},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); !reflect.DeepEqual(c.Logs, []string{"api", "audit", "authenticator"}) {
					t.Errorf("logs after = %v", c.Logs)
				}
			},
		},
		{
			name:  "logging already on",
			plan:  finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"audit"}},
			found: "audit logging is enabled on prod",
			calls: []step{{call: "eks DescribeCluster GET /clusters/prod"}},
		},
		{
			name: "logging on a deleted cluster",
			setup: func(w *awsfake.World) {
				// no cluster at all
			},
			plan:  finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"audit"}},
			found: "cluster prod no longer exists",
			calls: []step{{call: "eks DescribeCluster GET /clusters/prod"}},
		},
		{
			name: "endpoint open to the world is restricted to the approved CIDRs",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.PublicCIDRs = nil // 0.0.0.0/0
				w.EKS.Put(c)
			},
			plan:   finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", PublicAccessCIDRs: []string{"203.0.113.0/24", "198.51.100.0/24"}, NodeEgressApproved: true},
			needed: true, found: "open to 0.0.0.0/0, outside the approved CIDRs",
			call: `eks:UpdateClusterConfig {"name":"prod","resourcesVpcConfig":{"publicAccessCidrs":["203.0.113.0/24","198.51.100.0/24"]}}`,
			calls: []step{
				{call: "eks DescribeCluster GET /clusters/prod"},
				{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"tok-1","resourcesVpcConfig":{"publicAccessCidrs":["203.0.113.0/24","198.51.100.0/24"]}}`},
			},
		},
		{
			name: "endpoint keeps the approved CIDRs it already had",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.PublicCIDRs = []string{"203.0.113.64/26", "0.0.0.0/0"}
				c.PrivateAccess = true // nodes reach the API server privately
				w.EKS.Put(c)
			},
			plan:   finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", PublicAccessCIDRs: []string{"203.0.113.0/24", "198.51.100.0/24"}},
			needed: true, found: "open to 0.0.0.0/0, outside",
			calls: []step{
				{call: "eks DescribeCluster GET /clusters/prod"},
				{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"tok-1","resourcesVpcConfig":{"publicAccessCidrs":["203.0.113.64/26"]}}`},
			},
		},
		{
			name:  "endpoint within the approved CIDRs",
			plan:  finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", PublicAccessCIDRs: []string{"203.0.0.0/16"}},
			found: "open only to approved CIDRs (203.0.113.0/24)",
			calls: []step{{call: "eks DescribeCluster GET /clusters/prod"}},
		},
		{
			name: "endpoint turned off while private access is on",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.PrivateAccess = true
				w.EKS.Put(c)
			},
			plan:   finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EndpointPublicAccess: aws.Bool(false)},
			needed: true, found: "public endpoint of prod is on, open to 203.0.113.0/24",
			call: `eks:UpdateClusterConfig {"name":"prod","resourcesVpcConfig":{"endpointPublicAccess":false}}`,
			calls: []step{
				{call: "eks DescribeCluster GET /clusters/prod"},
				{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"tok-1","resourcesVpcConfig":{"endpointPublicAccess":false}}`},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); c.PublicAccess || !c.PrivateAccess {
					t.Errorf("endpoint after: public %v private %v", c.PublicAccess, c.PrivateAccess)
				}
			},
		},
		{
			name: "endpoint already private",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.PublicAccess, c.PrivateAccess = false, true
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EndpointPublicAccess: aws.Bool(false)},
			found: "public endpoint of prod is off",
			calls: []step{{call: "eks DescribeCluster GET /clusters/prod"}},
		},
		{
			name: "identity provider disassociated",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.IdentityProviders = map[string]string{"contractor-sso": "https://oidc.contractor.example.net", "corp-sso": "https://login.example.com"}
				w.EKS.Put(c)
			},
			plan: finding.Plan{Action: finding.ActionDisassociateIdentityProviderConfig, Cluster: "prod",
				IdentityProviderConfig: "contractor-sso", IssuerURL: "https://oidc.contractor.example.net"},
			needed: true, found: "contractor-sso of prod trusts issuer https://oidc.contractor.example.net",
			call: `eks:DisassociateIdentityProviderConfig {"clusterName":"prod","identityProviderConfig":{"name":"contractor-sso","type":"oidc"}}`,
			calls: []step{
				{call: "eks DescribeIdentityProviderConfig POST /clusters/prod/identity-provider-configs/describe", body: `{"identityProviderConfig":{"name":"contractor-sso","type":"oidc"}}`},
				{call: "eks DisassociateIdentityProviderConfig POST /clusters/prod/identity-provider-configs/disassociate", body: `{"clientRequestToken":"tok-1","identityProviderConfig":{"name":"contractor-sso","type":"oidc"}}`},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); !reflect.DeepEqual(c.IdentityProviders, map[string]string{"corp-sso": "https://login.example.com"}) {
					t.Errorf("identity providers after = %v, want only corp-sso", c.IdentityProviders)
				}
			},
		},
		{
			name:  "identity provider already gone",
			plan:  finding.Plan{Action: finding.ActionDisassociateIdentityProviderConfig, Cluster: "prod", IdentityProviderConfig: "contractor-sso", IssuerURL: "https://oidc.contractor.example.net"},
			found: "no longer associated with prod",
			calls: []step{{call: "eks DescribeIdentityProviderConfig POST /clusters/prod/identity-provider-configs/describe"}},
		},
		{
			name: "pod identity association deleted",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.PodIdentities = map[string]awsfake.PodIdentity{
					"a-1": {Namespace: "payments", ServiceAccount: "reports", RoleARN: "arn:aws:iam::111122223333:role/prod-node-role"},
					"a-2": {Namespace: "payments", ServiceAccount: "api", RoleARN: "arn:aws:iam::111122223333:role/api"},
				}
				w.EKS.Put(c)
			},
			plan:   finding.Plan{Action: finding.ActionDeletePodIdentityAssociation, Cluster: "prod", AssociationID: "a-1", RoleARN: "arn:aws:iam::111122223333:role/prod-node-role"},
			needed: true, found: "a-1 on prod still gives payments/reports role arn:aws:iam::111122223333:role/prod-node-role",
			call: `eks:DeletePodIdentityAssociation {"associationId":"a-1","clusterName":"prod"}`,
			calls: []step{
				{call: "eks DescribePodIdentityAssociation GET /clusters/prod/pod-identity-associations/a-1"},
				{call: "eks DeletePodIdentityAssociation DELETE /clusters/prod/pod-identity-associations/a-1"},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); len(c.PodIdentities) != 1 || c.PodIdentities["a-2"].RoleARN == "" {
					t.Errorf("pod identities after = %v, want only a-2", c.PodIdentities)
				}
			},
		},
		{
			name:  "pod identity association already gone",
			plan:  finding.Plan{Action: finding.ActionDeletePodIdentityAssociation, Cluster: "prod", AssociationID: "a-1", RoleARN: "arn:aws:iam::111122223333:role/prod-node-role"},
			found: "a-1 on prod no longer exists",
			calls: []step{{call: "eks DescribePodIdentityAssociation GET /clusters/prod/pod-identity-associations/a-1"}},
		},
		{
			name:   "deletion protection turned back on",
			plan:   finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", DeletionProtection: aws.Bool(true)},
			needed: true, found: "deletion protection of prod is off",
			call: `eks:UpdateClusterConfig {"deletionProtection":true,"name":"prod"}`,
			calls: []step{
				{call: "eks DescribeCluster GET /clusters/prod"},
				{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"tok-1","deletionProtection":true}`},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if c, _ := w.EKS.Get("prod"); !c.DeletionProtection || c.Updates != 1 {
					t.Errorf("deletion protection after: %v (%d updates), want on after one update", c.DeletionProtection, c.Updates)
				}
			},
		},
		{
			name: "deletion protection already on",
			setup: func(w *awsfake.World) {
				c := prodCluster()
				c.DeletionProtection = true
				w.EKS.Put(c)
			},
			plan:  finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", DeletionProtection: aws.Bool(true)},
			found: "deletion protection of prod is on",
			calls: []step{{call: "eks DescribeCluster GET /clusters/prod"}},
		},
		{
			name:   "re-attach a detached policy",
			setup:  func(w *awsfake.World) { w.IAM.PutRole("prod-node-role", workerPol) },
			plan:   finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: "prod-node-role", PolicyARN: cniPol},
			needed: true, found: "is not attached to role prod-node-role",
			calls: []step{
				{call: "iam ListAttachedRolePolicies POST /", body: "Action=ListAttachedRolePolicies&RoleName=prod-node-role&Version=2010-05-08"},
				{call: "iam AttachRolePolicy POST /", body: "Action=AttachRolePolicy&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAmazonEKS_CNI_Policy&RoleName=prod-node-role&Version=2010-05-08"},
			},
			after: func(t *testing.T, w *awsfake.World) {
				if got, _ := w.IAM.Attached("prod-node-role"); !reflect.DeepEqual(got, []string{workerPol, cniPol}) {
					t.Errorf("attached after = %v", got)
				}
			},
		},
		{
			name:  "re-attach when already back",
			setup: func(w *awsfake.World) { w.IAM.PutRole("prod-node-role", workerPol, cniPol) },
			plan:  finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: "prod-node-role", PolicyARN: cniPol},
			found: "is attached to role prod-node-role",
			calls: []step{{call: "iam ListAttachedRolePolicies POST /"}},
		},
		{
			name: "detach an attached admin policy",
			setup: func(w *awsfake.World) {
				w.IAM.PutRole("prod-node-role", workerPol, "arn:aws:iam::aws:policy/AdministratorAccess")
			},
			plan:   finding.Plan{Action: finding.ActionDetachRolePolicy, RoleName: "prod-node-role", PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"},
			needed: true, found: "still attached",
			calls: []step{
				{call: "iam ListAttachedRolePolicies POST /"},
				{call: "iam DetachRolePolicy POST /", body: "Action=DetachRolePolicy&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess&RoleName=prod-node-role&Version=2010-05-08"},
			},
		},
		{
			name:  "detach when the role is gone",
			plan:  finding.Plan{Action: finding.ActionDetachRolePolicy, RoleName: "prod-node-role", PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"},
			found: "role prod-node-role no longer exists",
			calls: []step{{call: "iam ListAttachedRolePolicies POST /"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := awsfake.New(t)
			if tc.setup != nil {
				tc.setup(w)
			} else {
				w.EKS.Put(prodCluster())
			}
			a, err := executor(w).Prepare(context.Background(), "eu-west-1", &tc.plan, token)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if a.Needed != tc.needed || !strings.Contains(a.Found, tc.found) {
				t.Fatalf("Prepare = needed %v found %q; want %v, %q", a.Needed, a.Found, tc.needed, tc.found)
			}
			if tc.call != "" && a.Call != tc.call {
				t.Errorf("Call = %s\nwant   %s", a.Call, tc.call)
			}
			if a.Needed {
				if err := a.Apply(context.Background()); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			} else if err := a.Apply(context.Background()); err == nil {
				t.Fatal("Apply of a compliant action succeeded")
			}
			checkCalls(t, w.Log.Calls(), tc.calls)
			if tc.after != nil {
				tc.after(t, w)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("ResourceInUse is busy", func(t *testing.T) {
		w := awsfake.New(t)
		c := prodCluster()
		c.Logs = nil
		w.EKS.Put(c)
		w.EKS.Fail("UpdateClusterConfig", 1, awsfake.Fault{Status: 409, Code: "ResourceInUseException", Message: "update in progress"})
		a, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"audit"}}, "evt-1-a1")
		if err != nil {
			t.Fatal(err)
		}
		err = a.Apply(ctx)
		if !remediate.Busy(err) || remediate.ErrorCode(err) != "ResourceInUseException" || !strings.Contains(err.Error(), "enable audit logging on prod") {
			t.Fatalf("err = %v", err)
		}
		// One attempt only: ResourceInUse is not retried by the SDK.
		checkCalls(t, w.Log.Calls(), []step{
			{call: "eks DescribeCluster GET /clusters/prod"},
			{call: "eks UpdateClusterConfig POST /clusters/prod/update-config", body: `{"clientRequestToken":"evt-1-a1","logging":{"clusterLogging":[{"enabled":true,"types":["audit"]}]}}`},
		})
	})
	t.Run("throttling is retried by the SDK", func(t *testing.T) {
		w := awsfake.New(t)
		w.EKS.Put(prodCluster())
		w.EKS.Fail("DisassociateAccessPolicy", 2, awsfake.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})
		a, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "prod", PrincipalARN: dev, PolicyARN: adminPol}, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(ctx); err != nil {
			t.Fatalf("Apply after throttling: %v", err)
		}
		del := "eks DisassociateAccessPolicy DELETE /clusters/prod/access-entries/" + devPath + "/access-policies/" + adminPath
		checkCalls(t, w.Log.Calls(), []step{
			{call: "eks ListAssociatedAccessPolicies GET /clusters/prod/access-entries/" + devPath + "/access-policies"},
			{call: del}, {call: del}, {call: del},
		})
	})
	t.Run("access denied keeps the code", func(t *testing.T) {
		w := awsfake.New(t)
		w.IAM.PutRole("r", cniPol)
		w.IAM.Fail("DetachRolePolicy", 1, awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform iam:DetachRolePolicy"})
		a, err := executor(w).Prepare(ctx, "", &finding.Plan{Action: finding.ActionDetachRolePolicy, RoleName: "r", PolicyARN: cniPol}, "")
		if err != nil {
			t.Fatal(err)
		}
		err = a.Apply(ctx)
		if remediate.ErrorCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "detach "+cniPol+" from role r") {
			t.Fatalf("err = %v (code %q)", err, remediate.ErrorCode(err))
		}
	})
	t.Run("vanished between check and call", func(t *testing.T) {
		w := awsfake.New(t)
		w.EKS.Put(prodCluster())
		w.EKS.Fail("DeleteAccessEntry", 1, awsfake.Fault{Status: 404, Code: "ResourceNotFoundException"})
		a, _ := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionDeleteAccessEntry, Cluster: "prod", PrincipalARN: dev}, "")
		if err := a.Apply(ctx); !errors.Is(err, remediate.ErrAlreadyCompliant) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("pre-check denied", func(t *testing.T) {
		w := awsfake.New(t)
		w.EKS.Put(prodCluster())
		w.EKS.Fail("DescribeCluster", 1, awsfake.Fault{Status: 403, Code: "AccessDeniedException"})
		_, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"audit"}}, "")
		if remediate.ErrorCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "describe cluster prod") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("public endpoint that is the only endpoint is left alone", func(t *testing.T) {
		w := awsfake.New(t)
		w.EKS.Put(prodCluster()) // private access off
		_, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EndpointPublicAccess: aws.Bool(false)}, "t")
		if remediate.ErrorCode(err) != "UnsafeRemediation" || !strings.Contains(err.Error(), "private access is off") {
			t.Fatalf("err = %v", err)
		}
		checkCalls(t, w.Log.Calls(), []step{{call: "eks DescribeCluster GET /clusters/prod"}})
	})
	t.Run("narrowing the only endpoint is held unless node egress is approved", func(t *testing.T) {
		w := awsfake.New(t)
		c := prodCluster() // private access off
		c.PublicCIDRs = []string{"0.0.0.0/0"}
		w.EKS.Put(c)
		_, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", PublicAccessCIDRs: []string{"203.0.113.0/24"}}, "t")
		if remediate.ErrorCode(err) != "UnsafeRemediation" || !strings.Contains(err.Error(), "endpoint.approvedIncludesNodeEgress") {
			t.Fatalf("err = %v, want UnsafeRemediation naming endpoint.approvedIncludesNodeEgress", err)
		}
		checkCalls(t, w.Log.Calls(), []step{{call: "eks DescribeCluster GET /clusters/prod"}})
		if got, _ := w.EKS.Get("prod"); got.Updates != 0 || strings.Join(got.PublicCIDRs, ",") != "0.0.0.0/0" {
			t.Fatalf("cluster changed: %+v", got)
		}
	})
	t.Run("identity provider with another issuer since is held", func(t *testing.T) {
		w := awsfake.New(t)
		c := prodCluster()
		c.IdentityProviders = map[string]string{"sso": "https://login.example.com"}
		w.EKS.Put(c)
		_, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionDisassociateIdentityProviderConfig, Cluster: "prod",
			IdentityProviderConfig: "sso", IssuerURL: "https://oidc.contractor.example.net"}, "t")
		if remediate.ErrorCode(err) != "UnsafeRemediation" || !strings.Contains(err.Error(), "now trusts issuer https://login.example.com") {
			t.Fatalf("err = %v, want UnsafeRemediation naming the current issuer", err)
		}
		checkCalls(t, w.Log.Calls(), []step{{call: "eks DescribeIdentityProviderConfig POST /clusters/prod/identity-provider-configs/describe"}})
	})
	t.Run("pod identity association with another role since is held", func(t *testing.T) {
		w := awsfake.New(t)
		c := prodCluster()
		c.PodIdentities = map[string]awsfake.PodIdentity{"a-1": {Namespace: "payments", ServiceAccount: "reports", RoleARN: "arn:aws:iam::111122223333:role/reports"}}
		w.EKS.Put(c)
		_, err := executor(w).Prepare(ctx, "eu-west-1", &finding.Plan{Action: finding.ActionDeletePodIdentityAssociation, Cluster: "prod",
			AssociationID: "a-1", RoleARN: "arn:aws:iam::111122223333:role/prod-node-role"}, "t")
		if remediate.ErrorCode(err) != "UnsafeRemediation" || !strings.Contains(err.Error(), "now gives arn:aws:iam::111122223333:role/reports") {
			t.Fatalf("err = %v, want UnsafeRemediation naming the current role", err)
		}
		if got, _ := w.EKS.Get("prod"); len(got.PodIdentities) != 1 {
			t.Fatalf("association deleted: %+v", got.PodIdentities)
		}
	})
	t.Run("attach to a deleted role fails", func(t *testing.T) {
		w := awsfake.New(t)
		_, err := executor(w).Prepare(ctx, "", &finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: "gone", PolicyARN: cniPol}, "")
		if remediate.ErrorCode(err) != "NoSuchEntity" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInvalidPlans(t *testing.T) {
	w := awsfake.New(t)
	for _, p := range []finding.Plan{
		{Action: "eks:DeleteCluster", Cluster: "prod"},
		{Action: finding.ActionDeleteAccessEntry, PrincipalARN: dev},
		{Action: finding.ActionDisassociateAccessPolicy, Cluster: "prod", PrincipalARN: dev},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod"},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"api"}, EndpointPublicAccess: aws.Bool(false)},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EndpointPublicAccess: aws.Bool(true)},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", PublicAccessCIDRs: []string{"not-a-cidr"}},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", DeletionProtection: aws.Bool(false)},
		{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", DeletionProtection: aws.Bool(true), EnableLogTypes: []string{"api"}},
		{Action: finding.ActionDisassociateIdentityProviderConfig, Cluster: "prod", IdentityProviderConfig: "sso"},
		{Action: finding.ActionDeletePodIdentityAssociation, Cluster: "prod", AssociationID: "a-1"},
		{Action: finding.ActionAttachRolePolicy, RoleName: "r"},
	} {
		_, err := executor(w).Prepare(context.Background(), "eu-west-1", &p, "")
		if remediate.ErrorCode(err) != "InvalidPlan" {
			t.Errorf("%+v: err = %v", p, err)
		}
	}
	if n := len(w.Log.Calls()); n != 0 {
		t.Fatalf("invalid plans made %d calls", n)
	}
}
