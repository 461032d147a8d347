package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

const (
	home    = "111122223333"
	foreign = "444455556666"
	devRole = "arn:aws:iam::111122223333:role/dev-team"
	admin   = "arn:aws:iam::111122223333:role/platform-admins"
	glass   = "arn:aws:iam::111122223333:role/break-glass"
	cluster = "payments-prod"

	clusterAdminARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	adminARN        = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
	viewARN         = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

// testPolicy is the example policy, with an allow list per rule.
func testPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	doc := ExamplePolicy + "rules:\n"
	for _, id := range IDs() {
		doc += fmt.Sprintf("  %s: {allow: [\"arn:aws:iam::111122223333:role/allowed-*\"]}\n", id)
	}
	p, err := policy.Parse([]byte(doc), "test.yaml", IDs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ev builds a successful in-scope record made by a dev-team session.
func ev(name string, params any, mods ...func(*cloudtrail.Record)) *cloudtrail.Record {
	r := &cloudtrail.Record{
		EventID: "ev-1", EventName: name, EventSource: sourceOf(name), AWSRegion: "eu-west-1",
		RecipientAccountID: home, SourceIPAddress: "198.51.100.7", UserAgent: "aws-cli/2.15",
		UserIdentity: cloudtrail.Identity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/dev-team/alice", AccountID: home},
		Params:       params,
	}
	if r.EventSource == "iam.amazonaws.com" {
		r.AWSRegion = "us-east-1"
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

func failed(code string) func(*cloudtrail.Record) {
	return func(r *cloudtrail.Record) {
		r.ErrorCode = code
		if r.EventSource == "iam.amazonaws.com" {
			r.Params = nil // IAM drops requestParameters on failure
		}
	}
}

func byAutomation(r *cloudtrail.Record) {
	r.UserIdentity.ARN = "arn:aws:sts::111122223333:assumed-role/terraform-deployer/ci-1234"
}

func bptr(b bool) *cloudtrail.Bool { v := cloudtrail.Bool(b); return &v }

func entry(principal string, groups ...string) *cloudtrail.AccessEntryParams {
	p := &cloudtrail.AccessEntryParams{PrincipalARN: principal, KubernetesGroups: groups}
	p.Name = cluster
	return p
}

func assoc(principal, policyARN, scope string) *cloudtrail.AccessPolicyParams {
	p := &cloudtrail.AccessPolicyParams{PrincipalARN: principal, PolicyARN: policyARN}
	if scope != "" {
		p.AccessScope = &cloudtrail.AccessScope{Type: scope}
	}
	p.Name = cluster
	return p
}

func vpc(public, private *cloudtrail.Bool, cidrs ...string) *cloudtrail.ClusterConfigParams {
	p := &cloudtrail.ClusterConfigParams{ResourcesVPCConfig: &cloudtrail.VPCConfig{EndpointPublicAccess: public, EndpointPrivateAccess: private, PublicAccessCIDRs: cidrs}}
	p.Name = cluster
	return p
}

func logging(enabled bool, types ...string) *cloudtrail.ClusterConfigParams {
	p := &cloudtrail.ClusterConfigParams{Logging: &cloudtrail.Logging{ClusterLogging: []cloudtrail.LogSetup{{Types: types, Enabled: bptr(enabled)}}}}
	p.Name = cluster
	return p
}

func nsAssoc(principal, policyARN string, namespaces ...string) *cloudtrail.AccessPolicyParams {
	p := assoc(principal, policyARN, "namespace")
	p.AccessScope.Namespaces = namespaces
	return p
}

func unstatedLogging(types ...string) *cloudtrail.ClusterConfigParams {
	p := &cloudtrail.ClusterConfigParams{Logging: &cloudtrail.Logging{ClusterLogging: []cloudtrail.LogSetup{{Types: types}}}}
	p.Name = cluster
	return p
}

func rolePolicy(role, policyARN string) *cloudtrail.RolePolicyParams {
	return &cloudtrail.RolePolicyParams{RoleName: role, PolicyARN: policyARN}
}

// want describes one expected finding.
type want struct {
	sev       finding.Severity
	principal string
	action    string // plan action, "" for no plan
	text      string // must appear in the summary (or needsCheck)
}

type row struct {
	name string
	rec  *cloudtrail.Record
	pol  *policy.Policy // nil: testPolicy
	want []want
}

func runRule(t *testing.T, rule Rule, rows []row) {
	t.Helper()
	base := testPolicy(t)
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.pol
			if pol == nil {
				pol = base
			}
			got := NewEngine(pol, []Rule{rule}).Assess(tt.rec)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Rule != rule.ID || f.Title != rule.Title || f.EventID != "ev-1" || f.Account != home || f.Mode == "" {
					t.Errorf("common fields not filled: %+v", f)
				}
				if f.Severity != w.sev {
					t.Errorf("severity %v, want %v", f.Severity, w.sev)
				}
				if f.Principal != w.principal {
					t.Errorf("principal %q, want %q", f.Principal, w.principal)
				}
				action := ""
				if f.Plan != nil {
					action = f.Plan.Action
					if f.Plan.CLI(f.Region) == "" || f.Plan.Summary() == "" {
						t.Errorf("plan %+v renders no CLI command or summary", f.Plan)
					}
				}
				if action != w.action {
					t.Errorf("plan action %q, want %q", action, w.action)
				}
				if !strings.Contains(f.Summary+" "+f.NeedsCheck, w.text) {
					t.Errorf("summary %q / check %q does not mention %q", f.Summary, f.NeedsCheck, w.text)
				}
			}
		})
	}
}

func TestClusterAdminGranted(t *testing.T) {
	runRule(t, ClusterAdminGranted, []row{
		{"fires for cluster admin policy", ev("AssociateAccessPolicy", assoc(devRole, clusterAdminARN, "cluster")),
			nil, []want{{finding.Critical, devRole, finding.ActionDisassociateAccessPolicy, "AmazonEKSClusterAdminPolicy"}}},
		{"fires for admin policy at cluster scope", ev("AssociateAccessPolicy", assoc(devRole, adminARN, "cluster")),
			nil, []want{{finding.Critical, devRole, finding.ActionDisassociateAccessPolicy, "AmazonEKSAdminPolicy"}}},
		{"fires for other partition", ev("AssociateAccessPolicy", assoc(devRole, "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "cluster")),
			nil, []want{{finding.Critical, devRole, finding.ActionDisassociateAccessPolicy, "payments-prod"}}},
		{"does not fire for admin policy at namespace scope", ev("AssociateAccessPolicy", assoc(devRole, adminARN, "namespace")), nil, nil},
		{"cluster admin policy at namespace scope is high, and says so", ev("AssociateAccessPolicy", nsAssoc(devRole, clusterAdminARN, "payments", "payments-jobs")),
			nil, []want{{finding.High, devRole, finding.ActionDisassociateAccessPolicy, "(namespace scope: payments, payments-jobs)"}}},
		{"cluster admin policy over kube-system is critical", ev("AssociateAccessPolicy", nsAssoc(devRole, clusterAdminARN, "payments", "kube-system")),
			nil, []want{{finding.Critical, devRole, finding.ActionDisassociateAccessPolicy, "takes in kube-system"}}},
		{"cluster admin policy over every namespace is critical", ev("AssociateAccessPolicy", nsAssoc(devRole, clusterAdminARN, "*")),
			nil, []want{{finding.Critical, devRole, finding.ActionDisassociateAccessPolicy, "takes in kube-system"}}},
		{"does not fire for view policy", ev("AssociateAccessPolicy", assoc(devRole, viewARN, "cluster")), nil, nil},
		{"does not fire for an IAM policy of a similar name", ev("AssociateAccessPolicy", assoc(devRole, "arn:aws:iam::aws:policy/AmazonEKSClusterAdminPolicy", "cluster")), nil, nil},
		{"does not fire for a listed admin", ev("AssociateAccessPolicy", assoc(admin, clusterAdminARN, "cluster")), nil, nil},
		{"does not fire for a session ARN of an admin", ev("AssociateAccessPolicy", assoc("arn:aws:sts::111122223333:assumed-role/platform-admins/x", clusterAdminARN, "cluster")), nil, nil},
		{"failed call", ev("AssociateAccessPolicy", assoc(devRole, clusterAdminARN, "cluster"), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("AssociateAccessPolicy", assoc(devRole, clusterAdminARN, "cluster"), byAutomation), nil, nil},
		{"allowlisted", ev("AssociateAccessPolicy", assoc("arn:aws:iam::111122223333:role/allowed-ops", clusterAdminARN, "cluster")), nil, nil},
		{"built-in defaults have no admins", ev("AssociateAccessPolicy", assoc(admin, clusterAdminARN, "cluster")), policy.Default(),
			[]want{{finding.Critical, admin, finding.ActionDisassociateAccessPolicy, "not a listed admin"}}},
	})
}

func TestPrivilegedGroupGranted(t *testing.T) {
	runRule(t, PrivilegedGroupGranted, []row{
		{"fires on create with only the privileged group: delete the entry", ev("CreateAccessEntry", entry(devRole, "cluster-admin")),
			nil, []want{{finding.High, devRole, finding.ActionDeleteAccessEntry, "cluster-admin"}}},
		{"fires on create with other groups: keep them", ev("CreateAccessEntry", entry(devRole, "viewers", "cluster-admin")),
			nil, []want{{finding.High, devRole, finding.ActionUpdateAccessEntry, "cluster-admin"}}},
		{"fires on update", ev("UpdateAccessEntry", entry(devRole, "cluster-admin")),
			nil, []want{{finding.High, devRole, finding.ActionUpdateAccessEntry, "cluster-admin"}}},
		{"does not fire for ordinary groups", ev("CreateAccessEntry", entry(devRole, "viewers")), nil, nil},
		{"does not fire for admins", ev("CreateAccessEntry", entry(admin, "cluster-admin")), nil, nil},
		{"does not fire for non-standard entries", ev("CreateAccessEntry", func() any { e := entry(devRole, "cluster-admin"); e.Type = "EC2_LINUX"; return e }()), nil, nil},
		{"failed call", ev("CreateAccessEntry", entry(devRole, "cluster-admin"), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreateAccessEntry", entry(devRole, "cluster-admin"), byAutomation), nil, nil},
		{"allowlisted", ev("CreateAccessEntry", entry("arn:aws:iam::111122223333:role/allowed-x", "cluster-admin")), nil, nil},
	})
	// The plan keeps the other groups.
	f := NewEngine(testPolicy(t), []Rule{PrivilegedGroupGranted}).Assess(ev("UpdateAccessEntry", entry(devRole, "viewers", "cluster-admin", "editors")))
	if got := strings.Join(f[0].Plan.KubernetesGroups, ","); got != "viewers,editors" {
		t.Errorf("plan groups %q, want viewers,editors", got)
	}
}

func TestForeignPrincipalGranted(t *testing.T) {
	foreignRole := "arn:aws:iam::444455556666:role/contractor"
	runRule(t, ForeignPrincipalGranted, []row{
		{"fires for another account", ev("CreateAccessEntry", entry(foreignRole)),
			nil, []want{{finding.High, foreignRole, finding.ActionDeleteAccessEntry, foreign}}},
		{"does not fire for a trusted account", ev("CreateAccessEntry", entry(devRole)), nil, nil},
		{"defaults trust the event's own account only", ev("CreateAccessEntry", entry(devRole)), policy.Default(), nil},
		{"defaults flag other accounts", ev("CreateAccessEntry", entry(foreignRole)), policy.Default(),
			[]want{{finding.High, foreignRole, finding.ActionDeleteAccessEntry, "untrusted account"}}},
		{"failed call", ev("CreateAccessEntry", entry(foreignRole), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreateAccessEntry", entry(foreignRole), byAutomation), nil, nil},
		{"principal without an account cannot be judged", ev("CreateAccessEntry", entry("arn:aws:iam:::role/odd")),
			nil, []want{{finding.Medium, "arn:aws:iam:::role/odd", "", "could not be judged"}}},

		{"allowlisted", ev("CreateAccessEntry", entry(foreignRole)), func() *policy.Policy {
			p := testPolicy(t)
			p.Rules["foreign-principal-granted"] = policy.RuleConfig{Allow: []string{"arn:aws:iam::444455556666:role/contractor"}}
			return p
		}(), nil},
	})
	// A record that names no account (runRule expects the home account).
	noAccount := ev("CreateAccessEntry", entry(foreignRole), func(r *cloudtrail.Record) { r.RecipientAccountID, r.UserIdentity.AccountID = "", "" })
	if f := NewEngine(policy.Default(), []Rule{ForeignPrincipalGranted}).Assess(noAccount); len(f) != 1 || f[0].Severity != finding.Medium ||
		f[0].Plan != nil || !strings.Contains(f[0].Summary, "could not be judged") || !strings.Contains(f[0].NeedsCheck, "names no account") {
		t.Errorf("defaults, record without account: got %+v, want one medium could-not-be-judged finding without a plan", f)
	}
	if f := NewEngine(testPolicy(t), []Rule{ForeignPrincipalGranted}).Assess(noAccount); len(f) != 1 || f[0].Severity != finding.High || f[0].Plan == nil {
		t.Errorf("trusted list, record without account: got %+v, want the high finding with its plan", f)
	}
}

func TestIAMUserGranted(t *testing.T) {
	user := "arn:aws:iam::111122223333:user/bob"
	runRule(t, IAMUserGranted, []row{
		{"fires for a user", ev("CreateAccessEntry", entry(user)), nil, []want{{finding.Medium, user, "", "IAM user"}}},
		{"does not fire for a role", ev("CreateAccessEntry", entry(devRole)), nil, nil},
		{"failed call", ev("CreateAccessEntry", entry(user), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreateAccessEntry", entry(user), byAutomation), nil, nil},
		{"allowlisted", ev("CreateAccessEntry", entry(user)), func() *policy.Policy {
			p := testPolicy(t)
			p.Rules["iam-user-granted"] = policy.RuleConfig{Allow: []string{"arn:aws:iam::111122223333:user/b*"}}
			return p
		}(), nil},
		{"mode off", ev("CreateAccessEntry", entry(user)), func() *policy.Policy {
			p := testPolicy(t)
			p.Rules["iam-user-granted"] = policy.RuleConfig{Mode: finding.ModeOff}
			return p
		}(), nil},
	})
}

func TestProtectedAccessRemoved(t *testing.T) {
	runRule(t, ProtectedAccessRemoved, []row{
		{"fires on delete", ev("DeleteAccessEntry", entry(glass)), nil, []want{{finding.High, glass, "", "access entry deleted"}}},
		{"fires on disassociate", ev("DisassociateAccessPolicy", assoc(glass, clusterAdminARN, "")), nil,
			[]want{{finding.High, glass, "", "AmazonEKSClusterAdminPolicy disassociated"}}},
		{"does not fire for others", ev("DeleteAccessEntry", entry(devRole)), nil, nil},
		{"failed call", ev("DeleteAccessEntry", entry(glass), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("DeleteAccessEntry", entry(glass), byAutomation), nil, nil},
		{"allowlisted", ev("DeleteAccessEntry", entry(glass)), func() *policy.Policy {
			p := testPolicy(t)
			p.Rules["protected-access-removed"] = policy.RuleConfig{Allow: []string{glass}}
			return p
		}(), nil},
	})
}

func TestAccessChangeDenied(t *testing.T) {
	runRule(t, AccessChangeDenied, []row{
		{"fires on denied create", ev("CreateAccessEntry", entry(devRole), failed("AccessDeniedException")),
			nil, []want{{finding.Low, devRole, "", "AccessDeniedException"}}},
		{"fires medium on a denied admin associate", ev("AssociateAccessPolicy", assoc(devRole, clusterAdminARN, "cluster"), failed("AccessDeniedException")),
			nil, []want{{finding.Medium, devRole, "", "denied AssociateAccessPolicy of AmazonEKSClusterAdminPolicy"}}},
		{"fires low on a denied view associate", ev("AssociateAccessPolicy", assoc(devRole, viewARN, "cluster"), failed("AccessDeniedException")),
			nil, []want{{finding.Low, devRole, "", "AmazonEKSViewPolicy"}}},
		{"fires on a denied delete", ev("DeleteAccessEntry", entry(devRole), failed("AccessDeniedException")),
			nil, []want{{finding.Low, devRole, "", "denied DeleteAccessEntry"}}},
		{"fires medium on a denied removal of a protected principal", ev("DisassociateAccessPolicy", assoc(glass, clusterAdminARN, ""), failed("AccessDeniedException")),
			nil, []want{{finding.Medium, glass, "", "denied DisassociateAccessPolicy of AmazonEKSClusterAdminPolicy"}}},
		{"does not fire on success", ev("CreateAccessEntry", entry(devRole)), nil, nil},
		{"does not fire on other errors", ev("CreateAccessEntry", entry(devRole), failed("ResourceInUseException")), nil, nil},
		{"trusted automation", ev("CreateAccessEntry", entry(devRole), failed("AccessDeniedException"), byAutomation), nil, nil},
		{"allowlisted", ev("CreateAccessEntry", entry("arn:aws:iam::111122223333:role/allowed-probe"), failed("AccessDeniedException")), nil, nil},
	})
}

func TestPublicEndpointOpened(t *testing.T) {
	open := ev("UpdateClusterConfig", vpc(bptr(true), nil, "0.0.0.0/0"))
	noApproved := testPolicy(t)
	noApproved.Endpoint.PublicAccessCIDRs = nil
	runRule(t, PublicEndpointOpened, []row{
		{"fires for 0.0.0.0/0: plan the approved CIDRs", open, nil,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "whole internet"}}},
		{"fires for ::/0", ev("UpdateClusterConfig", vpc(bptr(true), nil, "203.0.113.0/24", "::/0")), nil,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "whole internet"}}},
		{"fires for CIDRs outside the approved list", ev("UpdateClusterConfig", vpc(nil, nil, "198.51.100.0/24")), nil,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "198.51.100.0/24"}}},
		{"fires without CIDRs: needs a check", ev("UpdateClusterConfig", vpc(bptr(true), nil)), nil,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "describe-cluster"}}},
		{"no approved CIDRs and private on: plan public off", open, noApproved,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "whole internet"}}},
		{"no approved CIDRs and private off: no plan", ev("UpdateClusterConfig", vpc(bptr(true), bptr(false), "0.0.0.0/0")), noApproved,
			[]want{{finding.High, "", "", "whole internet"}}},
		{"does not fire inside the approved list", ev("UpdateClusterConfig", vpc(bptr(true), nil, "203.0.113.128/25")), nil, nil},
		{"no approved CIDRs: two halves are the whole internet", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "0.0.0.0/1", "128.0.0.0/1")), noApproved,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "whole internet (every public IPv4 address)"}}},
		{"no approved CIDRs: more than a /8 worth", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "52.0.0.0/8", "54.0.0.0/8")), noApproved,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "33,554,432 public IPv4 addresses"}}},
		{"no approved CIDRs: a wide IPv6 range", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "2600::/16")), noApproved,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "IPv6 ranges wider than a /32"}}},
		{"no approved CIDRs: an office /24 is quiet", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "198.51.100.0/24", "52.1.0.0/16")), noApproved, nil},
		{"no approved CIDRs: private ranges open nothing", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "10.0.0.0/8", "172.16.0.0/12")), noApproved, nil},
		{"does not fire when public access is turned off", ev("UpdateClusterConfig", vpc(bptr(false), bptr(true))), nil, nil},
		{"does not fire for logging changes", ev("UpdateClusterConfig", logging(true, "api")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", vpc(bptr(true), nil, "0.0.0.0/0"), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", vpc(bptr(true), nil, "0.0.0.0/0"), byAutomation), nil, nil},
	})
	f := NewEngine(testPolicy(t), []Rule{PublicEndpointOpened}).Assess(open)
	if p := f[0].Plan; p.EndpointPublicAccess == nil || !*p.EndpointPublicAccess || strings.Join(p.PublicAccessCIDRs, ",") != "203.0.113.0/24" {
		t.Errorf("plan %+v, want public on with the approved CIDRs", p)
	}
	if f[0].Plan.NodeEgressApproved {
		t.Errorf("plan %+v says node egress is approved, the policy does not", f[0].Plan)
	}
	egress := testPolicy(t)
	egress.Endpoint.ApprovedIncludesNodeEgress = true
	if f := NewEngine(egress, []Rule{PublicEndpointOpened}).Assess(open); !f[0].Plan.NodeEgressApproved {
		t.Errorf("plan %+v, want nodeEgressApproved from endpoint.approvedIncludesNodeEgress", f[0].Plan)
	}
	f = NewEngine(noApproved, []Rule{PublicEndpointOpened}).Assess(open)
	if p := f[0].Plan; p.EndpointPublicAccess == nil || *p.EndpointPublicAccess {
		t.Errorf("plan %+v, want public access off", p)
	}
}

func TestPrivateEndpointDisabled(t *testing.T) {
	runRule(t, PrivateEndpointDisabled, []row{
		{"fires", ev("UpdateClusterConfig", vpc(nil, bptr(false))), nil, []want{{finding.Medium, "", "", "private endpoint"}}},
		{"does not fire when turned on", ev("UpdateClusterConfig", vpc(nil, bptr(true))), nil, nil},
		{"does not fire when not stated", ev("UpdateClusterConfig", vpc(bptr(true), nil, "203.0.113.0/24")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", vpc(nil, bptr(false)), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", vpc(nil, bptr(false)), byAutomation), nil, nil},
	})
}

func TestControlPlaneLoggingDisabled(t *testing.T) {
	runRule(t, ControlPlaneLoggingDisabled, []row{
		{"fires for audit", ev("UpdateClusterConfig", logging(false, "audit", "scheduler")), nil,
			[]want{{finding.High, "", finding.ActionUpdateClusterConfig, "audit logging turned off"}}},
		{"does not fire for optional types", ev("UpdateClusterConfig", logging(false, "scheduler", "controllerManager")), nil, nil},
		{"does not fire when enabling", ev("UpdateClusterConfig", logging(true, "audit")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", logging(false, "audit"), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", logging(false, "audit"), byAutomation), nil, nil},
		{"no enabled key: not known to be off, checked", ev("UpdateClusterConfig", unstatedLogging("audit", "scheduler")), nil,
			[]want{{finding.Medium, "", finding.ActionUpdateClusterConfig, "without an enabled key"}}},
		{"no enabled key on an optional type", ev("UpdateClusterConfig", unstatedLogging("scheduler")), nil, nil},
	})
	mixed := logging(false, "api")
	mixed.Logging.ClusterLogging = append(mixed.Logging.ClusterLogging, cloudtrail.LogSetup{Types: []string{"audit", "api"}})
	f := NewEngine(testPolicy(t), []Rule{ControlPlaneLoggingDisabled}).Assess(ev("UpdateClusterConfig", mixed))
	if len(f) != 1 || f[0].Severity != finding.High || strings.Join(f[0].Plan.EnableLogTypes, ",") != "api,audit" || !strings.Contains(f[0].NeedsCheck, "audit logging without an enabled key") {
		t.Errorf("got %+v, want one high finding re-enabling api,audit that says audit's enabled key is missing", f)
	}
	f = NewEngine(testPolicy(t), []Rule{ControlPlaneLoggingDisabled}).Assess(ev("UpdateClusterConfig", logging(false, "api", "scheduler", "authenticator")))
	if got := strings.Join(f[0].Plan.EnableLogTypes, ","); got != "api,authenticator" {
		t.Errorf("plan re-enables %q, want exactly api,authenticator", got)
	}
}

func TestAuthenticationModeChanged(t *testing.T) {
	mode := func(m string) *cloudtrail.ClusterConfigParams {
		p := &cloudtrail.ClusterConfigParams{AccessConfig: &cloudtrail.AccessConfig{AuthenticationMode: m}}
		p.Name = cluster
		return p
	}
	runRule(t, AuthenticationModeChanged, []row{
		{"fires", ev("UpdateClusterConfig", mode("API")), nil, []want{{finding.Medium, "", "", "changed to API"}}},
		{"does not fire without access config", ev("UpdateClusterConfig", logging(true, "api")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", mode("API"), failed("InvalidParameterException")), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", mode("API"), byAutomation), nil, nil},
	})
}

func TestClusterCreatedInsecure(t *testing.T) {
	secure := func() *cloudtrail.CreateClusterParams {
		p := &cloudtrail.CreateClusterParams{
			ResourcesVPCConfig: &cloudtrail.VPCConfig{EndpointPublicAccess: bptr(false), EndpointPrivateAccess: bptr(true)},
			Logging:            &cloudtrail.Logging{ClusterLogging: []cloudtrail.LogSetup{{Types: []string{"api", "audit", "authenticator"}, Enabled: bptr(true)}}},
			EncryptionConfig:   []cloudtrail.EncryptionConfig{{Resources: []string{"secrets"}}},
			AccessConfig:       &cloudtrail.AccessConfig{AuthenticationMode: "API", BootstrapClusterCreatorAdminPermissions: bptr(false)},
			DeletionProtection: bptr(true),
		}
		p.EncryptionConfig[0].Provider.KeyARN = "arn:aws:kms:eu-west-1:111122223333:key/k"
		p.Name = cluster
		return p
	}
	defaults := &cloudtrail.CreateClusterParams{}
	defaults.Name = cluster
	noLogs := secure()
	noLogs.Logging = nil
	runRule(t, ClusterCreatedInsecure, []row{
		{"fires on all defaults", ev("CreateCluster", defaults), nil,
			[]want{{finding.Medium, "", "", "0.0.0.0/0; required logs off: api, audit, authenticator; no KMS encryption of secrets; no deletion protection; creator keeps cluster-admin"}}},
		{"fires on missing deletion protection only", ev("CreateCluster", func() *cloudtrail.CreateClusterParams {
			p := secure()
			p.DeletionProtection = bptr(false)
			return p
		}()), nil, []want{{finding.Medium, "", "", "created with: no deletion protection"}}},
		{"fires on missing logs only", ev("CreateCluster", noLogs), nil, []want{{finding.Medium, "", "", "required logs off"}}},
		{"does not fire for a secure cluster", ev("CreateCluster", secure()), nil, nil},
		{"failed call", ev("CreateCluster", defaults, failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreateCluster", defaults, byAutomation), nil, nil},
	})
}

func TestRequiredPolicyDetached(t *testing.T) {
	vpcRC := "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
	clusterRoleARN := "arn:aws:iam::111122223333:role/payments-prod-cluster-role"
	runRule(t, RequiredPolicyDetached, []row{
		{"fires high for a known cluster role", ev("DetachRolePolicy", rolePolicy("payments-prod-cluster-role", vpcRC)), nil,
			[]want{{finding.High, clusterRoleARN, finding.ActionAttachRolePolicy, "AmazonEKSVPCResourceController detached from EKS cluster role"}}},
		{"fires medium when the role is not confirmed", ev("DetachRolePolicy", rolePolicy("mystery", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")), nil,
			[]want{{finding.Medium, "arn:aws:iam::111122223333:role/mystery", finding.ActionAttachRolePolicy, "confirm whether it is an EKS node role"}}},
		{"CNI policy moved off a node role: medium, no plan", ev("DetachRolePolicy", rolePolicy("a-node-role", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")), nil,
			[]want{{finding.Medium, "arn:aws:iam::111122223333:role/a-node-role", "", "Pod Identity"}}},
		{"ECR read-only swapped for pull-only: medium, no plan", ev("DetachRolePolicy", rolePolicy("a-node-role", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")), nil,
			[]want{{finding.Medium, "arn:aws:iam::111122223333:role/a-node-role", "", "PullOnly"}}},
		{"allowlisted by role name", ev("DetachRolePolicy", rolePolicy("legacy-workers", vpcRC)), func() *policy.Policy {
			p := testPolicy(t)
			p.Rules["required-policy-detached"] = policy.RuleConfig{Allow: []string{"legacy-*"}}
			return p
		}(), nil},
		{"fires for the IAM compute policy", ev("DetachRolePolicy", rolePolicy("x-cluster-role", "arn:aws:iam::aws:policy/AmazonEKSComputePolicy")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:role/x-cluster-role", finding.ActionAttachRolePolicy, "AmazonEKSComputePolicy"}}},
		{"does not fire for the access policy of the same name", ev("DetachRolePolicy", rolePolicy("x-cluster-role", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSComputePolicy")), nil, nil},
		{"does not fire for a customer policy of the same name", ev("DetachRolePolicy", rolePolicy("x-cluster-role", "arn:aws:iam::111122223333:policy/AmazonEKSClusterPolicy")), nil, nil},
		{"does not fire for unrelated policies", ev("DetachRolePolicy", rolePolicy("x-cluster-role", "arn:aws:iam::aws:policy/ReadOnlyAccess")), nil, nil},
		{"failed call", ev("DetachRolePolicy", rolePolicy("x-cluster-role", vpcRC), failed("AccessDenied")), nil, nil},
		{"trusted automation", ev("DetachRolePolicy", rolePolicy("x-cluster-role", vpcRC), byAutomation), nil, nil},
		{"allowlisted", ev("DetachRolePolicy", rolePolicy("allowed-cluster-role", vpcRC)), nil, nil},
	})
}

func TestAdminPolicyAttachedToEKSRole(t *testing.T) {
	adm := "arn:aws:iam::aws:policy/AdministratorAccess"
	runRule(t, AdminPolicyAttachedToEKSRole, []row{
		{"fires for a node role", ev("AttachRolePolicy", rolePolicy("payments-prod-node-role", adm)), nil,
			[]want{{finding.Critical, "arn:aws:iam::111122223333:role/payments-prod-node-role", finding.ActionDetachRolePolicy, "AdministratorAccess attached to EKS node role"}}},
		{"fires for IAMFullAccess on a cluster role", ev("AttachRolePolicy", rolePolicy("a-cluster-role", "arn:aws:iam::aws:policy/IAMFullAccess")), nil,
			[]want{{finding.Critical, "arn:aws:iam::111122223333:role/a-cluster-role", finding.ActionDetachRolePolicy, "IAMFullAccess"}}},
		{"does not fire for other roles", ev("AttachRolePolicy", rolePolicy("ci-runner", adm)), nil, nil},
		{"does not fire for required policies", ev("AttachRolePolicy", rolePolicy("a-node-role", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")), nil, nil},
		{"failed call", ev("AttachRolePolicy", rolePolicy("a-node-role", adm), failed("AccessDenied")), nil, nil},
		{"trusted automation", ev("AttachRolePolicy", rolePolicy("a-node-role", adm), byAutomation), nil, nil},
		{"allowlisted", ev("AttachRolePolicy", rolePolicy("allowed-node-role", adm)), nil, nil},
	})
}

func TestEKSRoleTrustChanged(t *testing.T) {
	trust := func(role string) *cloudtrail.TrustPolicyParams {
		return &cloudtrail.TrustPolicyParams{RoleName: role, PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`}
	}
	runRule(t, EKSRoleTrustChanged, []row{
		{"fires", ev("UpdateAssumeRolePolicy", trust("a-node-role")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:role/a-node-role", "", "trust policy of EKS node role"}}},
		{"does not fire for other roles", ev("UpdateAssumeRolePolicy", trust("ci")), nil, nil},
		{"failed call", ev("UpdateAssumeRolePolicy", trust("a-node-role"), failed("AccessDenied")), nil, nil},
		{"trusted automation", ev("UpdateAssumeRolePolicy", trust("a-node-role"), byAutomation), nil, nil},
		{"allowlisted", ev("UpdateAssumeRolePolicy", trust("allowed-node-role")), nil, nil},
	})
	f := NewEngine(testPolicy(t), []Rule{EKSRoleTrustChanged}).Assess(ev("UpdateAssumeRolePolicy", trust("a-node-role")))
	if !strings.Contains(f[0].After, "444455556666") {
		t.Errorf("after %q should name the trusted principal", f[0].After)
	}
}

func TestEKSRoleInlinePolicyChanged(t *testing.T) {
	inline := func(role string) *cloudtrail.InlinePolicyParams {
		return &cloudtrail.InlinePolicyParams{RoleName: role, PolicyName: "extra", PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`}
	}
	runRule(t, EKSRoleInlinePolicyChanged, []row{
		{"fires on put", ev("PutRolePolicy", inline("a-node-role")), nil,
			[]want{{finding.Medium, "arn:aws:iam::111122223333:role/a-node-role", "", "inline policy extra put on EKS node role"}}},
		{"fires on delete", ev("DeleteRolePolicy", inline("a-cluster-role")), nil,
			[]want{{finding.Medium, "arn:aws:iam::111122223333:role/a-cluster-role", "", "deleted from EKS cluster role"}}},
		{"does not fire for other roles", ev("PutRolePolicy", inline("ci")), nil, nil},
		{"failed call", ev("PutRolePolicy", inline("a-node-role"), failed("AccessDenied")), nil, nil},
		{"trusted automation", ev("PutRolePolicy", inline("a-node-role"), byAutomation), nil, nil},
		{"allowlisted", ev("PutRolePolicy", inline("allowed-node-role")), nil, nil},
	})
}

func TestEngineRelevant(t *testing.T) {
	e := NewEngine(policy.Default(), All())
	if !e.Relevant([]byte("eks.amazonaws.com"), []byte("CreateCluster")) {
		t.Error("EKS CreateCluster is relevant")
	}
	if e.Relevant([]byte("ecs.amazonaws.com"), []byte("CreateCluster")) {
		t.Error("ECS CreateCluster is not")
	}
	if e.Relevant([]byte("eks.amazonaws.com"), []byte("DescribeCluster")) {
		t.Error("DescribeCluster is not")
	}
}

func TestExposure(t *testing.T) {
	tests := []struct {
		cidrs       []string
		wide, whole bool
		says        string
	}{
		{[]string{"0.0.0.0/0"}, true, true, "the whole IPv4 internet"},
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, true, true, "the whole IPv4 internet"},
		{[]string{"0.0.0.0/1", "128.0.0.0/2"}, true, false, "public IPv4 addresses"},
		{[]string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, false, false, "no public addresses"},
		{[]string{"52.0.0.0/8"}, false, false, "16,777,216 public IPv4 addresses"},
		{[]string{"52.0.0.0/8", "52.0.0.0/9"}, false, false, "a /8 worth"},
		{[]string{"52.0.0.0/8", "54.0.0.0/8"}, true, false, "33,554,432 public IPv4 addresses"},
		{[]string{"2001:db8::/32"}, false, false, "no public addresses"},
		{[]string{"2001::/16"}, true, false, "IPv6 ranges wider than a /32 (2001::/16)"},
		{[]string{"::/0"}, true, true, "the whole IPv6 internet"},
		{[]string{"not-a-cidr"}, true, false, "not CIDRs (not-a-cidr)"},
	}
	for _, tt := range tests {
		e := exposureOf(tt.cidrs)
		if e.wide() != tt.wide || e.whole() != tt.whole || !strings.Contains(e.String(), tt.says) {
			t.Errorf("%v: got wide %v whole %v %q, want wide %v whole %v mentioning %q", tt.cidrs, e.wide(), e.whole(), e.String(), tt.wide, tt.whole, tt.says)
		}
	}
}

func TestConfigChangeDenied(t *testing.T) {
	denied := failed("AccessDeniedException")
	del := &cloudtrail.ClusterParams{}
	del.Name = cluster
	idp := &cloudtrail.IdentityProviderParams{OIDC: &cloudtrail.OIDCConfig{IssuerURL: "https://idp.example.net"}}
	idp.ClusterName = cluster
	protected := testPolicy(t)
	protected.Clusters.Protected = []string{"payments-*"}
	runRule(t, ConfigChangeDenied, []row{
		{"denied turning audit logging off", ev("UpdateClusterConfig", logging(false, "audit"), denied), nil,
			[]want{{finding.Medium, "", "", "tried to turn off audit logging"}}},
		{"denied opening the endpoint", ev("UpdateClusterConfig", vpc(bptr(true), bptr(false), "0.0.0.0/0"), denied), nil,
			[]want{{finding.Medium, "", "", "open the public endpoint to the whole internet"}}},
		{"denied opening the endpoint to an unapproved office range", ev("UpdateClusterConfig", vpc(bptr(true), nil, "198.51.100.0/24"), denied), nil,
			[]want{{finding.Medium, "", "", "open the public endpoint to 256 public IPv4 addresses"}}},
		{"denied narrowing to the approved range is low", ev("UpdateClusterConfig", vpc(bptr(true), nil, "203.0.113.0/24"), denied), nil,
			[]want{{finding.Low, "", "", "change its configuration"}}},
		{"denied turning deletion protection off", ev("UpdateClusterConfig", &cloudtrail.ClusterConfigParams{DeletionProtection: bptr(false)}, denied), nil,
			[]want{{finding.Medium, "", "", "turn deletion protection off"}}},
		{"denied harmless change is low", ev("UpdateClusterConfig", logging(true, "audit"), denied), nil,
			[]want{{finding.Low, "", "", "change its configuration"}}},
		{"denied delete", ev("DeleteCluster", del, denied), nil, []want{{finding.Medium, "", "", "tried to delete it"}}},
		{"denied delete of a protected cluster is high", ev("DeleteCluster", del, denied), protected, []want{{finding.High, "", "", "tried to delete it"}}},
		{"denied identity provider", ev("AssociateIdentityProviderConfig", idp, denied), nil,
			[]want{{finding.Medium, "", "", "issuer https://idp.example.net"}}},
		{"successful change is another rule's business", ev("UpdateClusterConfig", logging(false, "audit")), nil, nil},
		{"other errors", ev("DeleteCluster", del, failed("ResourceInUseException")), nil, nil},
		{"trusted automation", ev("DeleteCluster", del, denied, byAutomation), nil, nil},
	})
}

func clusterConfig(mod func(*cloudtrail.ClusterConfigParams)) *cloudtrail.ClusterConfigParams {
	p := &cloudtrail.ClusterConfigParams{}
	p.Name = cluster
	mod(p)
	return p
}

func TestDeletionProtectionDisabled(t *testing.T) {
	off := ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) { p.DeletionProtection = bptr(false) }))
	runRule(t, DeletionProtectionDisabled, []row{
		{"fires when turned off", off, nil, []want{{finding.High, "", finding.ActionUpdateClusterConfig, "deletion protection of cluster payments-prod turned off"}}},
		{"does not fire when turned on", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) { p.DeletionProtection = bptr(true) })), nil, nil},
		{"does not fire when not stated", ev("UpdateClusterConfig", logging(false, "audit")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) { p.DeletionProtection = bptr(false) }), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) { p.DeletionProtection = bptr(false) }), byAutomation), nil, nil},
	})
	f := NewEngine(testPolicy(t), []Rule{DeletionProtectionDisabled}).Assess(off)
	if p := f[0].Plan; p.DeletionProtection == nil || !*p.DeletionProtection || p.EndpointPublicAccess != nil || len(p.EnableLogTypes) > 0 {
		t.Errorf("plan %+v, want only deletionProtection true", p)
	}
	if got := f[0].Plan.CLI("eu-west-1"); got != "aws eks update-cluster-config --name payments-prod --deletion-protection --region eu-west-1" {
		t.Errorf("CLI %q", got)
	}
}

func TestClusterDeleted(t *testing.T) {
	del := &cloudtrail.ClusterParams{}
	del.Name = cluster
	protected := testPolicy(t)
	protected.Clusters.Protected = []string{"payments-*"}
	other := testPolicy(t)
	other.Clusters.Protected = []string{"checkout-*"}
	runRule(t, ClusterDeleted, []row{
		{"fires high", ev("DeleteCluster", del), nil, []want{{finding.High, "", "", "cluster payments-prod deleted in account 111122223333, region eu-west-1, by arn:aws:sts::111122223333:assumed-role/dev-team/alice from 198.51.100.7"}}},
		{"critical for a protected cluster", ev("DeleteCluster", del), protected, []want{{finding.Critical, "", "", "(a protected cluster)"}}},
		{"high when another glob is protected", ev("DeleteCluster", del), other, []want{{finding.High, "", "", "deleted"}}},
		{"refused deletion", ev("DeleteCluster", del, failed("ResourceInUseException")), nil, nil},
		{"trusted automation", ev("DeleteCluster", del, byAutomation), nil, nil},
	})
}

func TestClusterNetworkChanged(t *testing.T) {
	runRule(t, ClusterNetworkChanged, []row{
		{"security groups", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ResourcesVPCConfig = &cloudtrail.VPCConfig{SecurityGroupIDs: []string{"sg-1", "sg-2"}}
		})), nil, []want{{finding.Medium, "", "", "security groups [sg-1, sg-2]"}}},
		{"security groups emptied", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ResourcesVPCConfig = &cloudtrail.VPCConfig{SecurityGroupIDs: []string{}}
		})), nil, []want{{finding.Medium, "", "", "security groups []"}}},
		{"subnets", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ResourcesVPCConfig = &cloudtrail.VPCConfig{SubnetIDs: []string{"subnet-1", "subnet-2"}}
		})), nil, []want{{finding.Medium, "", "", "subnets [subnet-1, subnet-2]"}}},
		{"remote networks", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.RemoteNetworkConfig = &cloudtrail.RemoteNetworkConfig{RemoteNodeNetworks: []cloudtrail.RemoteNetwork{{CIDRs: []string{"10.80.0.0/16", "10.90.0.0/16"}}}}
		})), nil, []want{{finding.Medium, "", "", "remote node networks [10.80.0.0/16, 10.90.0.0/16]; remote pod networks []"}}},
		{"endpoint only", ev("UpdateClusterConfig", vpc(bptr(true), bptr(true), "203.0.113.0/24")), nil, nil},
		{"failed call", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ResourcesVPCConfig = &cloudtrail.VPCConfig{SecurityGroupIDs: []string{"sg-1"}}
		}), failed("AccessDeniedException")), nil, nil},
	})
}

func TestAutoModeNodeRoleChanged(t *testing.T) {
	role := func(arn string) *cloudtrail.ClusterConfigParams {
		return clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ComputeConfig = &cloudtrail.ComputeConfig{Enabled: bptr(true), NodeRoleARN: arn}
		})
	}
	runRule(t, AutoModeNodeRoleChanged, []row{
		{"role of another account", ev("UpdateClusterConfig", role("arn:aws:iam::444455556666:role/prod-node-role")), nil,
			[]want{{finding.High, "arn:aws:iam::444455556666:role/prod-node-role", "", "of untrusted account 444455556666"}}},
		{"role that is not a node role", ev("UpdateClusterConfig", role("arn:aws:iam::111122223333:role/ops-admin")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:role/ops-admin", "", "not matching roles.node"}}},
		{"both", ev("UpdateClusterConfig", role("arn:aws:iam::444455556666:role/x")), nil,
			[]want{{finding.High, "arn:aws:iam::444455556666:role/x", "", "of untrusted account 444455556666 and not matching roles.node"}}},
		{"the node role", ev("UpdateClusterConfig", role("arn:aws:iam::111122223333:role/prod-node-role")), nil, nil},
		{"Auto Mode turned off", ev("UpdateClusterConfig", clusterConfig(func(p *cloudtrail.ClusterConfigParams) {
			p.ComputeConfig = &cloudtrail.ComputeConfig{Enabled: bptr(false)}
		})), nil, nil},
		{"trusted automation", ev("UpdateClusterConfig", role("arn:aws:iam::444455556666:role/x"), byAutomation), nil, nil},
	})
}

func TestNodegroupSSHOpen(t *testing.T) {
	ng := func(key, ami string, sgs ...string) *cloudtrail.NodegroupParams {
		p := &cloudtrail.NodegroupParams{NodegroupName: "ng-1", AMIType: ami}
		if key != "" || sgs != nil {
			p.RemoteAccess = &cloudtrail.RemoteAccess{EC2SSHKey: key, SourceSecurityGroups: sgs}
		}
		p.ClusterName = cluster
		return p
	}
	runRule(t, NodegroupSSHOpen, []row{
		{"key and no source groups", ev("CreateNodegroup", ng("ops", "AL2023_x86_64_STANDARD")), nil,
			[]want{{finding.High, "", "", "port 22 (SSH) of every node is open to 0.0.0.0/0"}}},
		{"Windows nodes: RDP", ev("CreateNodegroup", ng("ops", "WINDOWS_CORE_2022_x86_64")), nil,
			[]want{{finding.High, "", "", "port 3389 (RDP)"}}},
		{"says how to replace the node group", ev("CreateNodegroup", ng("ops", "")), nil,
			[]want{{finding.High, "", "", "create a replacement node group"}}},
		{"source groups set", ev("CreateNodegroup", ng("ops", "", "sg-bastion")), nil, nil},
		{"no remote access", ev("CreateNodegroup", ng("", "")), nil, nil},
		{"failed call", ev("CreateNodegroup", ng("ops", ""), failed("InvalidParameterException")), nil, nil},
	})
}

func TestNodeEntryForNonNodeRole(t *testing.T) {
	typed := func(principal, typ string) *cloudtrail.AccessEntryParams {
		p := entry(principal)
		p.Type = typ
		return p
	}
	runRule(t, NodeEntryForNonNodeRole, []row{
		{"EC2_LINUX for a dev role", ev("CreateAccessEntry", typed(devRole, "EC2_LINUX")), nil,
			[]want{{finding.High, devRole, finding.ActionDeleteAccessEntry, "joins system:nodes"}}},
		{"HYBRID_LINUX for a dev role", ev("CreateAccessEntry", typed(devRole, "HYBRID_LINUX")), nil,
			[]want{{finding.High, devRole, finding.ActionDeleteAccessEntry, "HYBRID_LINUX access entry"}}},
		{"EC2 (Auto Mode) for an IAM user", ev("CreateAccessEntry", typed("arn:aws:iam::111122223333:user/prod-node-role", "EC2")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:user/prod-node-role", finding.ActionDeleteAccessEntry, "EC2 access entry"}}},
		{"EC2_WINDOWS for a node role", ev("CreateAccessEntry", typed("arn:aws:iam::111122223333:role/prod-node-role", "EC2_WINDOWS")), nil, nil},
		{"standard entry", ev("CreateAccessEntry", typed(devRole, "STANDARD")), nil, nil},
		{"FARGATE_LINUX is another rule's business", ev("CreateAccessEntry", typed(devRole, "FARGATE_LINUX")), nil, nil},
		{"failed call", ev("CreateAccessEntry", typed(devRole, "EC2_LINUX"), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreateAccessEntry", typed(devRole, "EC2_LINUX"), byAutomation), nil, nil},
	})
}

func TestIdentityProviderAssociated(t *testing.T) {
	idp := func(name, issuer, groups string) *cloudtrail.IdentityProviderParams {
		p := &cloudtrail.IdentityProviderParams{OIDC: &cloudtrail.OIDCConfig{Name: name, IssuerURL: issuer, ClientID: "kubernetes", GroupsClaim: groups}}
		p.ClusterName = cluster
		return p
	}
	allowed := testPolicy(t)
	allowed.IdentityProviders.Allowed = []string{"https://login.example.com/*"}
	runRule(t, IdentityProviderAssociated, []row{
		{"names issuer, client ID and groups claim", ev("AssociateIdentityProviderConfig", idp("sso", "https://idp.example.net", "groups")), nil,
			[]want{{finding.High, "", finding.ActionDisassociateIdentityProviderConfig, "issuer https://idp.example.net, client ID kubernetes, groups claim groups, username claim sub"}}},
		{"issuer outside the allowed list", ev("AssociateIdentityProviderConfig", idp("sso", "https://idp.example.net", "")), allowed,
			[]want{{finding.High, "", finding.ActionDisassociateIdentityProviderConfig, "not in identityProviders.allowed"}}},
		{"allowed issuer", ev("AssociateIdentityProviderConfig", idp("sso", "https://login.example.com/oauth2/default", "groups")), allowed, nil},
		{"allowed issuer with a trailing slash", ev("AssociateIdentityProviderConfig", idp("sso", "https://login.example.com/oauth2/default/", "groups")), allowed, nil},
		{"no config name: no plan", ev("AssociateIdentityProviderConfig", idp("", "https://idp.example.net", "")), nil,
			[]want{{finding.High, "", "", "OIDC identity provider (unknown)"}}},
		{"denied call is config-change-denied's", ev("AssociateIdentityProviderConfig", idp("sso", "https://idp.example.net", ""), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("AssociateIdentityProviderConfig", idp("sso", "https://idp.example.net", ""), byAutomation), nil, nil},
	})
	f := NewEngine(testPolicy(t), []Rule{IdentityProviderAssociated}).Assess(ev("AssociateIdentityProviderConfig", idp("sso", "https://idp.example.net", "groups")))
	if p := f[0].Plan; p.IdentityProviderConfig != "sso" || p.IssuerURL != "https://idp.example.net" || p.Cluster != cluster {
		t.Errorf("plan %+v, want config sso with its issuer on %s", p, cluster)
	}
}

func TestPodIdentityEscalation(t *testing.T) {
	assocOf := func(ns, sa, role, target string) *cloudtrail.PodIdentityParams {
		p := &cloudtrail.PodIdentityParams{Namespace: ns, ServiceAccount: sa, RoleARN: role, TargetRoleARN: target}
		p.ClusterName = cluster
		return p
	}
	created := func(id string) func(*cloudtrail.Record) {
		return func(r *cloudtrail.Record) {
			r.ResponseElements = []byte(`{"association":{"associationId":"` + id + `","namespace":"kube-system","serviceAccount":"ebs-csi-controller-sa","roleArn":"arn:aws:iam::111122223333:role/ebs"}}`)
		}
	}
	const app = "arn:aws:iam::111122223333:role/shop-web"
	const nodeRole = "arn:aws:iam::111122223333:role/prod-node-role"
	const adminAccess = "arn:aws:iam::aws:policy/AdministratorAccess"
	found := func(f policy.Found) *policy.Policy {
		p := *testPolicy(t)
		p.Found = f
		return &p
	}
	runRule(t, PodIdentityEscalation, []row{
		{"role holding an admin policy (looked up)", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, ""), created("a-1")),
			found(policy.Found{AdminPolicies: map[string][]string{app: {adminAccess}}}),
			[]want{{finding.High, app, finding.ActionDeletePodIdentityAssociation, app + " holds admin policy AdministratorAccess"}}},
		{"target role holding admin policies (looked up)", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, "arn:aws:iam::111122223333:role/data"), created("a-1")),
			found(policy.Found{AdminPolicies: map[string][]string{"arn:aws:iam::111122223333:role/data": {adminAccess, "arn:aws:iam::aws:policy/IAMFullAccess"}}}),
			[]want{{finding.High, app, finding.ActionDeletePodIdentityAssociation, "role/data holds admin policy AdministratorAccess, IAMFullAccess"}}},
		{"another role holding an admin policy", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, ""), created("a-1")),
			found(policy.Found{AdminPolicies: map[string][]string{nodeRole: {adminAccess}}}), nil},
		{"policies not listed, nothing else: quiet", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, ""), created("a-1")),
			found(policy.Found{Unlisted: map[string]string{app: "AccessDenied"}}), nil},
		{"policies not listed, kube-system: says so", ev("CreatePodIdentityAssociation", assocOf("kube-system", "coredns", app, ""), created("a-1")),
			found(policy.Found{Unlisted: map[string]string{app: "AccessDenied"}}),
			[]want{{finding.High, app, finding.ActionDeletePodIdentityAssociation, "the policies attached to " + app + " could not be listed (AccessDenied)"}}},
		{"node role", ev("CreatePodIdentityAssociation", assocOf("shop", "web", nodeRole, ""), created("a-1")), nil,
			[]want{{finding.High, nodeRole, finding.ActionDeletePodIdentityAssociation, "is an EKS node role"}}},
		{"cluster role", ev("CreatePodIdentityAssociation", assocOf("shop", "web", "arn:aws:iam::111122223333:role/prod-cluster-role", ""), created("a-1")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:role/prod-cluster-role", finding.ActionDeletePodIdentityAssociation, "is an EKS cluster role"}}},
		{"role of another account", ev("CreatePodIdentityAssociation", assocOf("shop", "web", "arn:aws:iam::444455556666:role/x", ""), created("a-1")), nil,
			[]want{{finding.High, "arn:aws:iam::444455556666:role/x", finding.ActionDeletePodIdentityAssociation, "in untrusted account 444455556666"}}},
		{"target role of another account", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, "arn:aws:iam::444455556666:role/data"), created("a-1")), nil,
			[]want{{finding.High, app, finding.ActionDeletePodIdentityAssociation, "arn:aws:iam::444455556666:role/data is in untrusted account"}}},
		{"kube-system service account", ev("CreatePodIdentityAssociation", assocOf("kube-system", "coredns", app, ""), created("a-1")), nil,
			[]want{{finding.High, app, finding.ActionDeletePodIdentityAssociation, "kube-system/coredns runs with cluster-wide rights"}}},
		{"no association ID in the record: no plan", ev("CreatePodIdentityAssociation", assocOf("kube-system", "coredns", app, "")), nil,
			[]want{{finding.High, app, "", "list-pod-identity-associations"}}},
		{"update reads the namespace from the response, no plan", ev("UpdatePodIdentityAssociation", func() *cloudtrail.PodIdentityParams {
			p := assocOf("", "", "arn:aws:iam::111122223333:role/ebs", "")
			p.AssociationID = "a-9"
			return p
		}(), created("a-9")), nil,
			[]want{{finding.High, "arn:aws:iam::111122223333:role/ebs", "", "kube-system/ebs-csi-controller-sa"}}},
		{"app role", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, ""), created("a-1")), nil, nil},
		{"target role in a trusted account", ev("CreatePodIdentityAssociation", assocOf("shop", "web", app, "arn:aws:iam::111122223333:role/data"), created("a-1")), nil, nil},
		{"failed call", ev("CreatePodIdentityAssociation", assocOf("shop", "web", nodeRole, ""), failed("AccessDeniedException")), nil, nil},
		{"trusted automation", ev("CreatePodIdentityAssociation", assocOf("kube-system", "coredns", app, ""), byAutomation), nil, nil},
	})
}
