package scan_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/scan"
)

const (
	acct   = "111122223333"
	region = "eu-west-1"
	kmsKey = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func arn(kind, name string) string { return "arn:aws:iam::" + acct + ":" + kind + "/" + name }
func managed(name string) string   { return "arn:aws:iam::aws:policy/" + name }

const (
	clusterAdmin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	view         = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

// clean is a cluster that meets rules.ExamplePolicy.
func clean(name string) ekstatefake.Cluster {
	on, off := true, false
	return ekstatefake.Cluster{
		Name: name, RoleARN: arn("role", "prod-cluster-role"), PrivateAccess: true,
		Logs: map[string]bool{"api": true, "audit": true, "authenticator": true}, AuthenticationMode: "API",
		BootstrapAdmin: &off, SecretsKeyARN: kmsKey, DeletionProtection: &on,
		Entries: []ekstatefake.Entry{
			{PrincipalARN: arn("role", "platform-admins"), Policies: []ekstatefake.Association{{PolicyARN: clusterAdmin}}},
			{PrincipalARN: arn("role", "break-glass"), Policies: []ekstatefake.Association{{PolicyARN: view}}},
			{PrincipalARN: arn("role", "prod-node-role"), Type: "EC2_LINUX"},
		},
		PodIdentities: []ekstatefake.PodIdentity{{ID: "a-" + name, Namespace: "shop", ServiceAccount: "web", RoleARN: arn("role", "shop-web")}},
		Nodegroups:    []ekstatefake.Nodegroup{{Name: "ng-1", NodeRole: arn("role", "prod-node-role"), AMIType: "AL2023_x86_64_STANDARD"}},
	}
}

func seedRoles(f *ekstatefake.Fake) {
	f.SeedRole(acct, ekstatefake.Role{Name: "prod-cluster-role", Attached: []string{managed("AmazonEKSClusterPolicy")},
		Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
	f.SeedRole(acct, ekstatefake.Role{Name: "prod-node-role", Attached: []string{managed("AmazonEKSWorkerNodePolicy"),
		managed("AmazonEC2ContainerRegistryPullOnly"), managed("AmazonEKS_CNI_Policy")}, Inline: []string{"extra"}})
	f.SeedRole(acct, ekstatefake.Role{Name: "shop-web", Attached: []string{managed("AmazonS3ReadOnlyAccess")}})
	f.SeedRole(acct, ekstatefake.Role{Name: "bad-node-role", Attached: []string{managed("AmazonEKSWorkerNodePolicy"),
		managed("AmazonEC2ContainerRegistryPullOnly"), managed("AmazonEKS_CNI_Policy"), managed("AdministratorAccess")}})
	f.SeedRole(acct, ekstatefake.Role{Name: "bare-cluster-role"})
}

// badState seeds one cluster per kind of bad state and returns, per
// cluster, the rules that must fire on it.
func badState(f *ekstatefake.Fake) map[string][]string {
	want := map[string][]string{}
	add := func(c ekstatefake.Cluster, ruleIDs ...string) {
		f.Seed(acct, region, c)
		want[c.Name] = ruleIDs
	}
	c := clean("admin")
	c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("role", "contractor"), Policies: []ekstatefake.Association{{PolicyARN: clusterAdmin}}})
	add(c, "cluster-admin-granted")
	c = clean("group")
	c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("role", "dev-team"), Groups: []string{"cluster-admin"}})
	add(c, "privileged-group-granted")
	c = clean("foreign")
	c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: "arn:aws:iam::444455556666:role/vendor"})
	add(c, "foreign-principal-granted")
	c = clean("user")
	c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("user", "alice")})
	add(c, "iam-user-granted")
	c = clean("nodeentry")
	c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("role", "dev-team"), Type: "EC2_LINUX"})
	add(c, "node-entry-for-non-node-role")
	c = clean("noglass")
	c.Entries = slices.DeleteFunc(c.Entries, func(e ekstatefake.Entry) bool { return strings.HasSuffix(e.PrincipalARN, "break-glass") })
	add(c, "protected-access-removed")
	c = clean("public")
	c.PublicAccess = true
	add(c, "public-endpoint-opened")
	c = clean("private")
	c.PublicAccess, c.PublicCIDRs, c.PrivateAccess = true, []string{"203.0.113.0/24"}, false
	add(c, "private-endpoint-disabled")
	c = clean("logs")
	c.Logs = map[string]bool{"api": true}
	add(c, "control-plane-logging-disabled")
	c = clean("nokms")
	c.SecretsKeyARN = ""
	add(c, "cluster-created-insecure")
	c = clean("unprotected")
	off := false
	c.DeletionProtection = &off
	add(c, "deletion-protection-disabled")
	c = clean("automode")
	c.AutoModeNodeRole = arn("role", "ops")
	add(c, "auto-mode-node-role-changed")
	c = clean("ssh")
	c.Nodegroups[0].SSHKey = "ops"
	add(c, "nodegroup-ssh-open")
	c = clean("oidc")
	c.OIDC = []ekstatefake.OIDC{{Name: "sso", IssuerURL: "https://idp.example.net", ClientID: "kubernetes"}}
	add(c, "identity-provider-associated")
	c = clean("podid")
	c.PodIdentities = append(c.PodIdentities, ekstatefake.PodIdentity{ID: "a-bad", Namespace: "kube-system", ServiceAccount: "coredns", RoleARN: arn("role", "shop-web")})
	add(c, "pod-identity-escalation")
	// Findings about a role name no cluster (byCluster files them under the role).
	c = clean("bareclusterrole")
	c.RoleARN = arn("role", "bare-cluster-role")
	add(c)
	want["role:bare-cluster-role"] = []string{"required-policy-detached"}
	c = clean("adminnode")
	c.Nodegroups[0].NodeRole = arn("role", "bad-node-role")
	c.Entries[2].PrincipalARN = arn("role", "bad-node-role")
	add(c)
	want["role:bad-node-role"] = []string{"admin-policy-attached-to-eks-role"}
	// Two clusters sharing that role: its finding is reported once.
	c = clean("adminnode2")
	c.Nodegroups[0].NodeRole = arn("role", "bad-node-role")
	c.Entries[2].PrincipalARN = arn("role", "bad-node-role")
	add(c)
	return want
}

type world struct {
	fake *ekstatefake.Fake
	eks  *eks.Client
	iam  *iam.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	f := ekstatefake.New(acct)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return &world{fake: f,
		eks: scan.NewEKS(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		iam: scan.NewIAM(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
	}
}

func (w *world) reader() *scan.Reader {
	return &scan.Reader{EKS: w.eks, IAM: w.iam, Account: acct, Region: region}
}

func examplePolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(rules.ExamplePolicy), "ExamplePolicy", rules.IDs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	findings []finding.Finding
	errs     []error
	sum      scan.Summary
}

func run(t *testing.T, p *policy.Policy, readers ...*scan.Reader) result {
	t.Helper()
	var r result
	r.sum = scan.Run(context.Background(), readers, p, scan.Hooks{
		Finding: func(f *finding.Finding) { r.findings = append(r.findings, *f) },
		Cluster: func(_ *clusterstate.Cluster, err error) {
			if err != nil {
				r.errs = append(r.errs, err)
			}
		},
		Region: func(err error) { r.errs = append(r.errs, err) },
	})
	return r
}

func byCluster(fs []finding.Finding) map[string][]string {
	out := map[string][]string{}
	for _, f := range fs {
		k := f.Cluster
		if k == "" {
			k = "role:" + f.Principal[strings.LastIndex(f.Principal, "/")+1:]
		}
		out[k] = append(out[k], f.Rule)
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

func TestScanBadState(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	want := badState(w.fake)
	w.fake.Seed(acct, region, clean("clean"))
	got := run(t, examplePolicy(t), w.reader())
	if len(got.errs) > 0 {
		t.Fatalf("got errors %v, want none", got.errs)
	}
	gotBy := byCluster(got.findings)
	for name, rs := range want {
		if !slices.Equal(gotBy[name], rs) {
			t.Errorf("cluster %s: got %v, want %v", name, gotBy[name], rs)
		}
	}
	if len(gotBy["clean"]) > 0 {
		t.Errorf("clean cluster: got %v, want no findings", gotBy["clean"])
	}
	for name := range gotBy {
		if _, ok := want[name]; !ok {
			t.Errorf("got findings on unseeded cluster %q", name)
		}
	}
	seeded := 1 // clean
	for k := range want {
		if !strings.HasPrefix(k, "role:") {
			seeded++
		}
	}
	if got.sum.Clusters != seeded || got.sum.Findings != len(got.findings) {
		t.Errorf("summary: got %+v, want %d clusters", got.sum, seeded)
	}
	for _, f := range got.findings {
		if f.Source != finding.SourceScan || f.ID == "" || f.Account != acct || f.Region != region {
			t.Errorf("%s on %s: got source %q id %q account %q region %q", f.Rule, f.Cluster, f.Source, f.ID, f.Account, f.Region)
		}
	}
	// Every rule with a state form is exercised by the seeded account.
	covered := map[string]bool{}
	for _, rs := range want {
		for _, r := range rs {
			covered[r] = true
		}
	}
	for _, r := range rules.All() {
		if r.State != nil && !covered[r.ID] {
			t.Errorf("rule %s has a state form but no seeded bad state", r.ID)
		}
	}
}

func TestScanClean(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	for i := range 3 {
		w.fake.Seed(acct, region, clean(fmt.Sprintf("clean-%d", i)))
	}
	got := run(t, examplePolicy(t), w.reader())
	if len(got.findings) != 0 || len(got.errs) != 0 || got.sum.Clusters != 3 {
		t.Errorf("got %d findings, errors %v, %d clusters; want none, none, 3", len(got.findings), got.errs, got.sum.Clusters)
	}
	// The trust policy comes URL-decoded; the reader shares roles between clusters.
	calls := w.fake.Calls()
	if calls["GetRole"] != 3 { // prod-cluster-role, prod-node-role, shop-web
		t.Errorf("GetRole calls: got %d, want 3 (one per role, shared by the clusters)", calls["GetRole"])
	}
}

func TestScanPagination(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	w.fake.PageSize = 2
	for i := range 5 {
		c := clean(fmt.Sprintf("c%d", i))
		for j := range 5 {
			c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("user", fmt.Sprintf("u%d", j)),
				Policies: []ekstatefake.Association{{PolicyARN: view}, {PolicyARN: view, Scope: "namespace", Namespaces: []string{"a"}}, {PolicyARN: clusterAdmin}}})
		}
		c.Nodegroups = append(c.Nodegroups, ekstatefake.Nodegroup{Name: "ng-2", NodeRole: arn("role", "prod-node-role")},
			ekstatefake.Nodegroup{Name: "ng-3", NodeRole: arn("role", "prod-node-role"), SSHKey: "k"})
		w.fake.Seed(acct, region, c)
	}
	got := run(t, examplePolicy(t), w.reader())
	if len(got.errs) > 0 {
		t.Fatal(got.errs)
	}
	by := byCluster(got.findings)
	want := []string{"cluster-admin-granted", "cluster-admin-granted", "cluster-admin-granted", "cluster-admin-granted", "cluster-admin-granted",
		"iam-user-granted", "iam-user-granted", "iam-user-granted", "iam-user-granted", "iam-user-granted", "nodegroup-ssh-open"}
	for i := range 5 {
		name := fmt.Sprintf("c%d", i)
		if !slices.Equal(by[name], want) {
			t.Errorf("cluster %s: got %v, want %v", name, by[name], want)
		}
	}
	calls := w.fake.Calls()
	// 5 clusters at 2 a page: 3 pages; 8 entries at 2 a page: 4 pages a cluster.
	if calls["ListClusters"] != 3 || calls["ListAccessEntries"] != 20 {
		t.Errorf("pages: got ListClusters %d, ListAccessEntries %d; want 3 and 20", calls["ListClusters"], calls["ListAccessEntries"])
	}
}

func TestScanClusterGone(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	w.fake.Seed(acct, region, clean("stays"))
	gone := clean("gone")
	gone.PublicAccess = true
	w.fake.Seed(acct, region, gone)
	w.fake.Vanish["gone"] = true
	var errs []error
	sum := scan.Run(context.Background(), []*scan.Reader{w.reader()}, examplePolicy(t), scan.Hooks{
		Cluster: func(_ *clusterstate.Cluster, err error) {
			if err != nil {
				errs = append(errs, err)
			}
		},
	})
	if sum.Gone != 1 || sum.Failed != 0 || sum.Clusters != 1 || sum.Findings != 0 {
		t.Errorf("got %+v, want 1 gone, 0 failed, 1 cluster, 0 findings", sum)
	}
	if len(errs) != 1 || !errors.Is(errs[0], scan.ErrGone) || !strings.Contains(errs[0].Error(), "cluster gone") {
		t.Errorf("got %v, want one ErrGone naming cluster gone", errs)
	}
}

func TestScanAccessDeniedOnOneCluster(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	pub := clean("secret")
	pub.PublicAccess = true
	w.fake.Seed(acct, region, pub)
	open := clean("open")
	open.PublicAccess = true
	w.fake.Seed(acct, region, open)
	w.fake.Deny["secret"] = true
	got := run(t, examplePolicy(t), w.reader())
	if len(got.errs) != 1 {
		t.Fatalf("got errors %v, want one", got.errs)
	}
	var ce *scan.ClusterError
	if !errors.As(got.errs[0], &ce) || ce.Cluster != "secret" || !strings.Contains(ce.Error(), "DescribeCluster") || !strings.Contains(ce.Error(), "AccessDeniedException") {
		t.Errorf("got %v, want a ClusterError for secret naming DescribeCluster and AccessDeniedException", got.errs[0])
	}
	if by := byCluster(got.findings); !slices.Equal(by["open"], []string{"public-endpoint-opened"}) || len(by["secret"]) > 0 {
		t.Errorf("got %v, want public-endpoint-opened on open only", by)
	}
	if got.sum.Failed != 1 || got.sum.Clusters != 1 {
		t.Errorf("summary: got %+v, want 1 failed, 1 read", got.sum)
	}
}

func TestScanThrottled(t *testing.T) {
	w := newWorld(t)
	seedRoles(w.fake)
	w.fake.RatePerAction = 20
	for i := range 4 {
		c := clean(fmt.Sprintf("c%d", i))
		c.PublicAccess = true
		for j := range 10 {
			c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("role", fmt.Sprintf("r%d", j))})
		}
		w.fake.Seed(acct, region, c)
	}
	got := run(t, examplePolicy(t), w.reader())
	if len(got.errs) > 0 {
		t.Fatalf("got errors %v, want none (throttled calls are retried)", got.errs)
	}
	if len(got.findings) != 4 {
		t.Errorf("got %d findings, want 4 (public-endpoint-opened on each cluster)", len(got.findings))
	}
	th := w.fake.Throttled()
	if th["DescribeAccessEntry"] == 0 {
		t.Errorf("got no throttled DescribeAccessEntry calls (%v); the test must exceed the fake's rate", th)
	}
}

// With each action paced at the fake's throttle, no call is throttled.
func TestPaceEachActionMeetsTheThrottle(t *testing.T) {
	f := ekstatefake.New(acct)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	seedRoles(f)
	f.RatePerAction = 20
	for i := range 3 {
		c := clean(fmt.Sprintf("c%d", i))
		for j := range 10 {
			c.Entries = append(c.Entries, ekstatefake.Entry{PrincipalARN: arn("role", fmt.Sprintf("r%d", j))})
		}
		f.Seed(acct, region, c)
	}
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	pace := scan.PaceEachAction(20)
	r := &scan.Reader{Account: acct, Region: region,
		EKS: scan.NewEKS(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(srv.URL); o.APIOptions = append(o.APIOptions, pace) }),
		IAM: scan.NewIAM(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL); o.APIOptions = append(o.APIOptions, pace) }),
	}
	got := run(t, examplePolicy(t), r)
	if len(got.errs) > 0 || got.sum.Clusters != 3 {
		t.Fatalf("got %+v, errors %v; want 3 clusters read", got.sum, got.errs)
	}
	if th := f.Throttled(); len(th) > 0 {
		t.Errorf("throttled: got %v, want none (each action paced at the fake's rate)", th)
	}
	if n := f.Calls()["DescribeAccessEntry"]; n != 39 { // 3 entries of the clean cluster + 10 more, on 3 clusters
		t.Errorf("DescribeAccessEntry calls: got %d, want 39", n)
	}
}
