package rules

import (
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

type auditRow struct {
	name   string
	fields string         // over exampleAuditEvent's base
	pol    *policy.Policy // nil: testPolicy
	want   []auditWant
}

type auditWant struct {
	sev       finding.Severity
	principal string
	text      string // in the summary, after or needsCheck
	command   string // in the command
}

func runAuditRule(t *testing.T, rule Rule, rows []auditRow) {
	t.Helper()
	base := testPolicy(t)
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.pol
			if pol == nil {
				pol = base
			}
			got := NewEngine(pol, []Rule{rule}).AssessAudit(exampleAuditEvent(t, tt.fields))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Rule != rule.ID || f.EventID != "example-1" || f.Cluster != "prod" || f.Account != ExampleAccount || f.Region != "eu-west-1" ||
					f.EventTime != "2025-05-06T09:21:03Z" || f.Mode == "" || f.Plan != nil {
					t.Errorf("common fields not filled (or a plan given): %+v", f)
				}
				if f.Actor.ARN != "arn:aws:sts::111122223333:assumed-role/dev-team/alice" && !strings.Contains(tt.fields, `"user"`) {
					t.Errorf("actor %q, want the IAM session from user.extra", f.Actor.ARN)
				}
				if f.Severity != w.sev {
					t.Errorf("severity %v, want %v", f.Severity, w.sev)
				}
				if f.Principal != w.principal {
					t.Errorf("principal %q, want %q", f.Principal, w.principal)
				}
				if all := f.Summary + " | " + f.After + " | " + f.NeedsCheck; !strings.Contains(all, w.text) {
					t.Errorf("summary/after/check %q does not mention %q", all, w.text)
				}
				if !strings.Contains(f.Command, w.command) || !strings.Contains(f.Command, "kubectl") {
					t.Errorf("command %q, want a kubectl command with %q", f.Command, w.command)
				}
			}
		})
	}
}

const (
	nodeMap   = `- rolearn: arn:aws:iam::111122223333:role/prod-node-role\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n`
	devMaster = `- rolearn: arn:aws:iam::111122223333:role/dev-team\n  username: dev\n  groups: [system:masters]\n`
	ciMaster  = `- rolearn: arn:aws:iam::111122223333:role/ci\n  username: ci\n  groups: [cluster-admin]\n`
)

func TestAWSAuthAdminMapped(t *testing.T) {
	runAuditRule(t, AWSAuthAdminMapped, []auditRow{
		{name: "update maps dev-team to masters", fields: `{"requestObject":` + exampleAWSAuth(nodeMap+devMaster) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:role/dev-team", text: "may predate the change", command: "edit configmap aws-auth"}}},
		{name: "merge patch of mapUsers", fields: `{"verb":"patch","requestObject":{"data":{"mapUsers":"- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n  groups: [system:masters]\n"}}}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:user/bob", text: "mapUsers"}}},
		{name: "JSON patch: only what the test op did not have", fields: `{"verb":"patch","requestObject":[{"op":"test","path":"/data/mapRoles","value":"` + ciMaster + `"},{"op":"replace","path":"/data/mapRoles","value":"` + ciMaster + devMaster + `"}]}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:role/dev-team", text: "authenticationMode=API"}}},
		{name: "JSON patch without a test op", fields: `{"verb":"patch","requestObject":[{"op":"replace","path":"/data/mapRoles","value":"` + ciMaster + `"}]}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:role/ci", text: "may predate"}}},
		{name: "JSON patch value not a string", fields: `{"verb":"patch","requestObject":[{"op":"replace","path":"/data/mapRoles","value":[1]}]}`,
			want: []auditWant{{sev: finding.Critical, text: "does not parse"}}},
		{name: "response wins over the patch", fields: `{"verb":"patch","requestObject":{"data":{"mapRoles":"[]"}},"responseObject":` + exampleAWSAuth(devMaster) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:role/dev-team", text: "dev-team"}}},
		{name: "policy's privileged group", fields: `{"requestObject":` + exampleAWSAuth(ciMaster) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "arn:aws:iam::111122223333:role/ci", text: "cluster-admin"}}},
		{name: "allowed by the rule's allow list", fields: `{"requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/allowed-ops\n  groups: [system:masters]\n`) + `}`},
		{name: "by the automation role", fields: `{"user":{"username":"tf","extra":{"arn":["arn:aws:sts::111122223333:assumed-role/terraform-deployer/run"],"canonicalArn":["arn:aws:iam::111122223333:role/terraform-deployer"]}},"requestObject":` + exampleAWSAuth(devMaster) + `}`},
		{name: "metadata level: no object", fields: `{"verb":"patch"}`},
		{name: "another configmap", fields: `{"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"coredns"},"requestObject":` + exampleAWSAuth(devMaster) + `}`},
		{name: "still being written", fields: `{"stage":"RequestReceived","requestObject":` + exampleAWSAuth(devMaster) + `}`},
	})
}

func TestAWSAuthChanged(t *testing.T) {
	runAuditRule(t, AWSAuthChanged, []auditRow{
		{name: "delete", fields: `{"verb":"delete"}`, want: []auditWant{{sev: finding.Medium, text: "locked out", command: "apply"}}},
		{name: "deletecollection in kube-system", fields: `{"verb":"deletecollection","objectRef":{"resource":"configmaps","namespace":"kube-system"}}`,
			want: []auditWant{{sev: finding.Medium, text: "every ConfigMap in kube-system"}}},
		{name: "account mapped", fields: `{"verb":"patch","requestObject":{"data":{"mapAccounts":"- \"444455556666\"\n"}}}`,
			want: []auditWant{{sev: finding.Medium, text: "mapAccounts 444455556666", command: "get configmap aws-auth"}}},
		{name: "denied", fields: `{"responseStatus":{"code":403}}`, want: []auditWant{{sev: finding.Low, text: "was denied", command: "auth can-i"}}},
		{name: "admin mapping is the other rule's", fields: `{"requestObject":` + exampleAWSAuth(devMaster) + `}`},
		{name: "EKS maps a node role", fields: `{"user":{"username":"eks:node-manager"},"requestObject":` + exampleAWSAuth(nodeMap) + `}`},
		{name: "a user named eks: mapped from IAM is not EKS", fields: `{"user":{"username":"eks:node-manager","extra":{"arn":["arn:aws:sts::111122223333:assumed-role/dev-team/alice"]}},"requestObject":` + exampleAWSAuth(nodeMap) + `}`,
			want: []auditWant{{sev: finding.Medium, text: "prod-node-role"}}},
		{name: "not found", fields: `{"verb":"delete","responseStatus":{"code":404}}`},
	})
}

func bindingEvent(kind, ns, role string, subjects string) string {
	res, meta := "clusterrolebindings", `{"name":"b"}`
	if kind == "RoleBinding" {
		res, meta = "rolebindings", `{"name":"b","namespace":"`+ns+`"}`
	}
	return `{"verb":"create","objectRef":{"resource":"` + res + `","namespace":"` + ns + `","name":"b","apiGroup":"rbac.authorization.k8s.io"},` +
		`"requestObject":{"kind":"` + kind + `","metadata":` + meta + `,"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"` + role + `"},"subjects":` + subjects + `}`
}

func TestClusterAdminBound(t *testing.T) {
	extra, err := policy.Parse([]byte(ExamplePolicy+"rules: {}\n"), "p.yaml", IDs())
	if err != nil {
		t.Fatal(err)
	}
	extra.Kubernetes.PrivilegedClusterRoles = []string{"*-admin"}
	user := `[{"kind":"User","name":"dev"}]`
	runAuditRule(t, ClusterAdminBound, []auditRow{
		{name: "cluster-wide", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", user) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "dev", text: "User dev", command: "delete clusterrolebinding b"}}},
		{name: "in a namespace", fields: bindingEvent("RoleBinding", "team-a", "cluster-admin", user) + `}`,
			want: []auditWant{{sev: finding.High, principal: "dev", text: "namespace team-a only", command: "-n team-a delete rolebinding b"}}},
		{name: "in kube-system", fields: bindingEvent("RoleBinding", "kube-system", "cluster-admin", user) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "dev", text: "User dev"}}},
		{name: "every service account", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", `[{"kind":"Group","name":"system:serviceaccounts"}]`) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "system:serviceaccounts", text: "Group system:serviceaccounts"}}},
		{name: "a kube-system service account and a user", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", `[{"kind":"ServiceAccount","name":"x","namespace":"kube-system"},{"kind":"User","name":"dev"}]`) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "dev", text: "User dev"}}},
		{name: "a service account elsewhere", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", `[{"kind":"ServiceAccount","name":"web","namespace":"shop"}]`) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "system:serviceaccount:shop:web", text: "ServiceAccount shop/web"}}},
		{name: "a listed admin", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", `[{"kind":"User","name":"arn:aws:iam::111122223333:role/platform-admins"}]`) + `}`},
		{name: "a policy-listed ClusterRole", pol: extra, fields: bindingEvent("ClusterRoleBinding", "", "ops-admin", user) + `}`,
			want: []auditWant{{sev: finding.Critical, principal: "dev", text: "ClusterRole ops-admin"}}},
		{name: "an unlisted ClusterRole", fields: bindingEvent("ClusterRoleBinding", "", "ops-admin", user) + `}`},
		{name: "patch: the response is the binding", fields: `{"verb":"patch","objectRef":{"resource":"clusterrolebindings","name":"b"},"requestObject":{"subjects":[{"kind":"User","name":"dev"}]},"responseObject":{"kind":"ClusterRoleBinding","metadata":{"name":"b"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"dev"}]}}`,
			want: []auditWant{{sev: finding.Critical, principal: "dev", text: "User dev"}}},
		{name: "denied", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", user) + `,"responseStatus":{"code":403}}`,
			want: []auditWant{{sev: finding.Low, principal: "dev", text: "was denied", command: "auth can-i"}}},
		{name: "invalid", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", user) + `,"responseStatus":{"code":422}}`},
		{name: "a read", fields: `{"verb":"get","objectRef":{"resource":"clusterrolebindings","name":"b"}}`},
	})
}

func TestAnonymousAccessBound(t *testing.T) {
	runAuditRule(t, AnonymousAccessBound, []auditRow{
		{name: "unauthenticated group", fields: bindingEvent("RoleBinding", "shop", "edit", `[{"kind":"Group","name":"system:unauthenticated"}]`) + `}`,
			want: []auditWant{{sev: finding.Critical, text: "without credentials", command: "-n shop delete rolebinding b"}}},
		{name: "anonymous user with cluster-admin", fields: bindingEvent("ClusterRoleBinding", "", "cluster-admin", `[{"kind":"User","name":"system:anonymous"}]`) + `}`,
			want: []auditWant{{sev: finding.Critical, text: "User system:anonymous"}}},
		{name: "the API server's own", fields: `{"user":{"username":"system:apiserver"},` + bindingEvent("ClusterRoleBinding", "", "system:public-info-viewer", `[{"kind":"Group","name":"system:unauthenticated"}]`)[1:] + `}`},
		{name: "a group named like it", fields: bindingEvent("ClusterRoleBinding", "", "view", `[{"kind":"User","name":"system:unauthenticated"}]`) + `}`},
	})
}

func TestImpersonationUsed(t *testing.T) {
	runAuditRule(t, ImpersonationUsed, []auditRow{
		{name: "system:masters", fields: `{"verb":"get","objectRef":{"resource":"secrets","namespace":"shop","name":"db"},"impersonatedUser":{"username":"x","groups":["system:masters"]}}`,
			want: []auditWant{{sev: finding.Medium, principal: "arn:aws:iam::111122223333:role/dev-team", text: "secrets shop/db", command: "auth can-i impersonate"}}},
		{name: "the policy's group", fields: `{"verb":"list","objectRef":{"resource":"pods"},"impersonatedUser":{"username":"x","groups":["cluster-admin"]}}`,
			want: []auditWant{{sev: finding.Medium, principal: "arn:aws:iam::111122223333:role/dev-team", text: "cluster-admin"}}},
		{name: "failed", fields: `{"responseStatus":{"code":403},"impersonatedUser":{"username":"x","groups":["system:masters"]}}`},
		{name: "no impersonation", fields: `{"verb":"get"}`},
	})
}

func TestAuditFilterPattern(t *testing.T) {
	got := AuditFilterPattern()
	for _, want := range []string{
		`$.objectRef.name = "aws-auth"`, `$.verb = "deletecollection"`, `$.objectRef.resource = "clusterrolebindings"`,
		`$.objectRef.resource = "rolebindings"`, `$.impersonatedUser.username = "*"`, `$.verb = "patch"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("filter pattern %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, `"get"`) || !strings.HasPrefix(got, "{ (") || !strings.HasSuffix(got, ") }") {
		t.Errorf("filter pattern %s: want a JSON pattern of the writes only", got)
	}
	// CloudWatch Logs takes filter patterns of at most 1024 characters.
	if len(got) > 1024 {
		t.Errorf("filter pattern is %d characters, CloudWatch Logs takes at most 1024", len(got))
	}
}
