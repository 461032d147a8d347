package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackalert"
)

// Synthesizing under jsii takes seconds, so each app below is built once and
// its templates are shared by the tests that read them.

var tmpRoot string

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")
	dir, err := os.MkdirTemp("", "eksguard-infra-test-")
	if err != nil {
		panic(err)
	}
	tmpRoot = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synthesized is one app, synthesized, with its templates as JSON.
type synthesized struct {
	app       awscdk.App
	cfg       Config
	dep       *Deployment
	main      assertions.Template
	mainJSON  template
	forwarder template // nil without a forwarder stack
}

type template map[string]any

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*synthesized{}
)

// fixture builds (once) the app for one scenario:
//   - "eu-remediate": eu-west-1, every rule remediating, e-mail and HTTPS
//     alerts, an existing Slack secret; has the us-east-1 forwarder.
//   - "us-notify": us-east-1 with the built-in notify-only policy, a
//     heartbeat every 5 minutes and a 20-minute window.
//   - "eu-actions": eu-west-1, the built-in policy with one Slack
//     approver, securityHub and slackActions on.
func fixture(t *testing.T, name string) *synthesized {
	t.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if s, ok := fixtures[name]; ok {
		return s
	}
	ctx := map[string]string{"assetDir": fakeAssets(t)}
	switch name {
	case "eu-remediate":
		ctx["region"] = "eu-west-1"
		ctx["account"] = "123456789012"
		ctx["policyFile"] = writeFile(t, "policy.yaml", remediateAllPolicy)
		ctx["alertEmails"] = "oncall@example.com"
		ctx["alertHttpsEndpoints"] = "https://hooks.example.com/eksguard"
		ctx["slackSecretArn"] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eksguard/slack-AbCdEf"
		ctx["clusterRegions"] = "eu-west-1,eu-central-1"
		ctx["auditLogClusters"] = "payments-prod,checkout-prod"
	case "eu-actions":
		// The built-in notify-only policy, Security Hub and Slack actions on.
		ctx["region"] = "eu-west-1"
		ctx["account"] = "123456789012"
		ctx["securityHub"] = "on"
		ctx["slackActions"] = "on"
		ctx["policyFile"] = writeFile(t, "approvers.yaml", approversPolicy)
	case "us-notify":
		ctx["region"] = "us-east-1"
		ctx["heartbeatMinutes"] = "5"
		ctx["heartbeatWindowMinutes"] = "20"
	default:
		t.Fatalf("no fixture %s", name)
	}
	// The asset directory must outlive this test: synthesis happens lazily.
	assets := filepath.Join(tmpRoot, name+"-build")
	if err := os.Rename(ctx["assetDir"], assets); err != nil {
		t.Fatal(err)
	}
	ctx["assetDir"] = assets
	app := newApp(t, ctx)
	cfg, err := Resolve(AppLookup(app, func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := New(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{app: app, cfg: cfg, dep: dep}
	failOnValidation(t, app, func() {
		s.main = assertions.Template_FromStack(dep.Main, nil)
		s.mainJSON = toTemplate(t, s.main)
		if len(dep.Forwarders) > 0 {
			s.forwarder = toTemplate(t, assertions.Template_FromStack(dep.Forwarders[0], nil))
		}
	})
	fixtures[name] = s
	return s
}

// newApp is an app with cdk.json's context (the feature flags `cdk synth`
// uses) plus the given settings.
func newApp(t *testing.T, settings map[string]string) awscdk.App {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	ctx := map[string]any{}
	for k, v := range cdkJSON.Context {
		ctx[k] = v
	}
	for k, v := range settings {
		ctx[k] = v
	}
	out, err := os.MkdirTemp(tmpRoot, "cdk.out-")
	if err != nil {
		t.Fatal(err)
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
}

func toTemplate(t *testing.T, tmpl assertions.Template) template {
	t.Helper()
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var out template
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// resources returns the template's resources of one type, by logical ID.
func (tm template) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := tm["Resources"].(map[string]any)
	for id, r := range res {
		rm := r.(map[string]any)
		if rm["Type"] == typ {
			props, _ := rm["Properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
			}
			out[id] = props
		}
	}
	return out
}

func (tm template) resource(id string) map[string]any {
	res, _ := tm["Resources"].(map[string]any)
	r, _ := res[id].(map[string]any)
	return r
}

// functionID is the logical ID of a function of the main stack.
func (s *synthesized) functionID(name string) string {
	fn := s.dep.Functions[name]
	return *s.dep.Main.GetLogicalId(fn.Node().DefaultChild().(awscdk.CfnElement))
}

// at walks nested JSON objects; it is nil where the path does not exist.
func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// getAtt reads {"Fn::GetAtt": [id, attr]} and returns id.
func getAtt(v any, attr string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	ga, ok := m["Fn::GetAtt"].([]any)
	if !ok || len(ga) != 2 || ga[1] != attr {
		return ""
	}
	id, _ := ga[0].(string)
	return id
}

func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	id, _ := m["Ref"].(string)
	return id
}

// sameSet compares two lists ignoring order (CDK sorts statement entries).
func sameSet(t *testing.T, a, b []any) bool {
	t.Helper()
	ca, cb := make([]string, len(a)), make([]string, len(b))
	for i, v := range a {
		ca[i] = canonical(t, v)
	}
	for i, v := range b {
		cb[i] = canonical(t, v)
	}
	slices.Sort(ca)
	slices.Sort(cb)
	return slices.Equal(ca, cb)
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	return canonical(t, a) == canonical(t, b)
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(x) // maps marshal with sorted keys
	return string(out)
}

// ---- routing ----------------------------------------------------------------

// Every family's rule carries exactly the pattern the functions dispatch on
// and targets that family's function, with retries and a dead-letter queue.
func TestRulePatternsAreTheDispatchData(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		rulesByTarget := map[string]map[string]any{}
		for id, r := range s.mainJSON.resources("AWS::Events::Rule") {
			targets := r["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%s: rule %s has %d targets", name, id, len(targets))
			}
			rulesByTarget[getAtt(at(targets[0], "Arn"), "Arn")] = r
		}
		if len(rulesByTarget) != len(families.All()) {
			t.Errorf("%s: %d rules, want one per family (%d)", name, len(rulesByTarget), len(families.All()))
		}
		for _, fam := range families.All() {
			r, ok := rulesByTarget[s.functionID(fam.Name)]
			if !ok {
				t.Errorf("%s: no rule targets the %s function", name, fam.Name)
				continue
			}
			if !jsonEqual(t, r["EventPattern"], rules.Pattern(fam)) {
				t.Errorf("%s: %s rule pattern %s, want %s", name, fam.Name, canonical(t, r["EventPattern"]), canonical(t, rules.Pattern(fam)))
			}
			target := r["Targets"].([]any)[0].(map[string]any)
			if getAtt(at(target, "DeadLetterConfig", "Arn"), "Arn") == "" {
				t.Errorf("%s: %s rule target has no dead-letter queue", name, fam.Name)
			}
			want := map[string]any{"MaximumRetryAttempts": targetRetries, "MaximumEventAgeInSeconds": targetMaxAgeHours * 3600}
			if !jsonEqual(t, target["RetryPolicy"], want) {
				t.Errorf("%s: %s rule retry policy %v, want %v", name, fam.Name, target["RetryPolicy"], want)
			}
		}
		if r := rulesByTarget[s.functionID(NotifierName)]; r != nil {
			t.Errorf("%s: a rule targets the notifier", name)
		}
	}
}

// From eu-west-1, IAM events are caught in us-east-1 and sent to the main
// region's default bus, where the IAM rule picks them up.
func TestIAMRuleIsInUSEast1(t *testing.T) {
	s := fixture(t, "eu-remediate")
	if len(s.dep.Forwarders) != 1 {
		t.Fatalf("%d forwarder stacks, want 1", len(s.dep.Forwarders))
	}
	fwd := s.dep.Forwarders[0]
	if got := *fwd.Region(); got != "us-east-1" {
		t.Errorf("forwarder stack region %s, want us-east-1", got)
	}
	if got := *fwd.StackName(); got != "eksguard-forwarder-us-east-1" {
		t.Errorf("forwarder stack name %s", got)
	}
	rs := s.forwarder.resources("AWS::Events::Rule")
	if len(rs) != 1 {
		t.Fatalf("forwarder has %d rules, want 1", len(rs))
	}
	for id, r := range rs {
		if !jsonEqual(t, r["EventPattern"], rules.Pattern(families.IAM)) {
			t.Errorf("forwarder rule pattern %s, want the IAM family's", canonical(t, r["EventPattern"]))
		}
		if r["EventBusName"] != nil {
			t.Errorf("forwarder rule %s is not on the default bus: %v", id, r["EventBusName"])
		}
		target := r["Targets"].([]any)[0].(map[string]any)
		wantBus := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default"}
		if !jsonEqual(t, target["Arn"], wantBus) {
			t.Errorf("forwarder target %s, want eu-west-1's default bus", canonical(t, target["Arn"]))
		}
		if getAtt(at(target, "DeadLetterConfig", "Arn"), "Arn") == "" {
			t.Error("forwarder target has no dead-letter queue")
		}
		role := getAtt(target["RoleArn"], "Arn")
		var putEvents bool
		for _, p := range s.forwarder.resources("AWS::IAM::Policy") {
			if slices.Contains(refs(p["Roles"]), role) && jsonEqual(t, statements(p), []any{map[string]any{
				"Action": "events:PutEvents", "Effect": "Allow", "Resource": wantBus,
			}}) {
				putEvents = true
			}
		}
		if !putEvents {
			t.Error("the forwarder's role may not put events on the main bus (or may do more)")
		}
	}
	// The forwarder's dead-letter queue and failures raise alarms in us-east-1.
	if n := len(s.forwarder.resources("AWS::CloudWatch::Alarm")); n != 2 {
		t.Errorf("forwarder has %d alarms, want 2 (failed forwards, dead letters)", n)
	}

	us := fixture(t, "us-notify")
	if len(us.dep.Forwarders) != 0 {
		t.Errorf("a us-east-1 deployment has %d forwarder stacks, want none", len(us.dep.Forwarders))
	}
}

func refs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		out = append(out, ref(e))
	}
	return out
}

func statements(p map[string]any) []any {
	doc, _ := p["PolicyDocument"].(map[string]any)
	st, _ := doc["Statement"].([]any)
	return st
}

// ---- functions --------------------------------------------------------------

func TestFunctionsRuntimeAndLimits(t *testing.T) {
	s := fixture(t, "eu-remediate")
	fns := s.mainJSON.resources("AWS::Lambda::Function")
	if len(fns) != len(FunctionNames())+1 {
		t.Errorf("%d functions, want %d (%v and the scan function)", len(fns), len(FunctionNames())+1, FunctionNames())
	}
	for _, name := range FunctionNames() {
		f := fns[s.functionID(name)]
		if f == nil {
			t.Errorf("no function %s", name)
			continue
		}
		if f["Runtime"] != "provided.al2023" || f["Handler"] != "bootstrap" || !jsonEqual(t, f["Architectures"], []string{"arm64"}) {
			t.Errorf("%s: runtime %v handler %v architectures %v", name, f["Runtime"], f["Handler"], f["Architectures"])
		}
		if m := f["MemorySize"].(float64); m < 128 || m > 256 {
			t.Errorf("%s: %v MB, want 128-256", name, m)
		}
		if f["ReservedConcurrentExecutions"] != float64(5) {
			t.Errorf("%s: reserved concurrency %v, want 5", name, f["ReservedConcurrentExecutions"])
		}
		lc, _ := f["LoggingConfig"].(map[string]any)
		if lc["LogFormat"] != "JSON" {
			t.Errorf("%s: log format %v", name, lc["LogFormat"])
		}
		lg := s.mainJSON.resource(ref(lc["LogGroup"]))
		if lg == nil || at(lg, "Properties", "RetentionInDays") != float64(90) {
			t.Errorf("%s: log group %v has no 90-day retention", name, lc["LogGroup"])
		}
	}
}

// Every function's async invocations are retried a bounded number of times
// and then land in its own encrypted, SSL-only queue.
func TestEveryFunctionHasItsDeadLetterPath(t *testing.T) {
	s := fixture(t, "eu-remediate")
	configs := map[string]map[string]any{}
	for _, c := range s.mainJSON.resources("AWS::Lambda::EventInvokeConfig") {
		configs[ref(c["FunctionName"])] = c
	}
	queues := s.mainJSON.resources("AWS::SQS::Queue")
	seen := map[string]bool{}
	for _, name := range FunctionNames() {
		c := configs[s.functionID(name)]
		if c == nil {
			t.Errorf("%s: no async invoke config", name)
			continue
		}
		if c["MaximumRetryAttempts"] != float64(asyncRetries) || c["MaximumEventAgeInSeconds"] != float64(asyncMaxAgeHours*3600) {
			t.Errorf("%s: retries %v, max age %v", name, c["MaximumRetryAttempts"], c["MaximumEventAgeInSeconds"])
		}
		dest := at(c, "DestinationConfig", "OnFailure", "Destination")
		q := getAtt(dest, "Arn")
		if queues[q] == nil {
			t.Errorf("%s: on-failure destination %v is not a queue of the stack", name, dest)
			continue
		}
		if seen[q] {
			t.Errorf("%s shares its failure queue %s", name, q)
		}
		seen[q] = true
	}
	// The notifier's SNS subscription redrives to a queue as well.
	var redrive bool
	for _, sub := range s.mainJSON.resources("AWS::SNS::Subscription") {
		if sub["Protocol"] == "lambda" && getAtt(sub["Endpoint"], "Arn") == s.functionID(NotifierName) {
			rp, _ := sub["RedrivePolicy"].(map[string]any)
			redrive = rp != nil && queues[getAtt(rp["deadLetterTargetArn"], "Arn")] != nil
		}
	}
	if !redrive {
		t.Error("the notifier's subscription has no dead-letter queue")
	}
}

func TestClusterFunctionConsumesTheDeferQueue(t *testing.T) {
	s := fixture(t, "eu-remediate")
	cluster := s.functionID(families.Cluster.Name)
	var queue string
	for _, m := range s.mainJSON.resources("AWS::Lambda::EventSourceMapping") {
		if ref(m["FunctionName"]) != cluster {
			t.Errorf("event source mapping on %v", m["FunctionName"])
			continue
		}
		queue = getAtt(m["EventSourceArn"], "Arn")
		if !jsonEqual(t, m["FunctionResponseTypes"], []string{"ReportBatchItemFailures"}) {
			t.Errorf("defer queue mapping does not report partial batch failures: %v", m["FunctionResponseTypes"])
		}
	}
	q := s.mainJSON.resource(queue)
	if q == nil {
		t.Fatal("the cluster function reads no queue")
	}
	props := q["Properties"].(map[string]any)
	if props["DelaySeconds"] != float64(120) {
		t.Errorf("defer queue delay %v, want 120 (shared/deferral's first delay)", props["DelaySeconds"])
	}
	rp, _ := props["RedrivePolicy"].(map[string]any)
	if rp == nil || s.mainJSON.resource(getAtt(rp["deadLetterTargetArn"], "Arn")) == nil {
		t.Errorf("defer queue has no dead-letter queue: %v", props["RedrivePolicy"])
	}
	fn := s.mainJSON.resources("AWS::Lambda::Function")[cluster]
	env, _ := at(fn, "Environment", "Variables").(map[string]any)
	if ref(env[config.EnvDeferQueueURL]) != queue {
		t.Errorf("%s = %v, want the queue the function consumes (%s)", config.EnvDeferQueueURL, env[config.EnvDeferQueueURL], queue)
	}
}

func TestFunctionEnvironment(t *testing.T) {
	s := fixture(t, "eu-remediate")
	fns := s.mainJSON.resources("AWS::Lambda::Function")
	roleIDs := map[string]bool{}
	for _, name := range append(FunctionNames(), ScanFunctionName) {
		for id := range s.mainJSON.resources("AWS::IAM::Role") {
			if strings.HasPrefix(id, title(name)+"FunctionRole") {
				roleIDs[id] = true
			}
		}
	}
	for _, name := range FunctionNames() {
		env, _ := at(fns[s.functionID(name)], "Environment", "Variables").(map[string]any)
		want := []string{config.EnvPolicy, config.EnvTable}
		if name == NotifierName {
			want = append(want, config.EnvSlackSecretARN)
		} else {
			want = append(want, config.EnvTopicARN, config.EnvRemediationRoleARN)
		}
		if name != NotifierName && name != families.Kubernetes.Name {
			want = append(want, config.EnvKillSwitchParameter)
		}
		if name == families.Cluster.Name {
			want = append(want, config.EnvDeferQueueURL, config.EnvAuditFunctionARN)
		}
		if name == families.Tamper.Name {
			want = append(want, config.EnvCanaryRoleARN)
		}
		if name == families.IAM.Name {
			want = append(want, config.EnvClusterRegions)
			if env[config.EnvClusterRegions] != "eu-west-1,eu-central-1" {
				t.Errorf("iam %s = %v", config.EnvClusterRegions, env[config.EnvClusterRegions])
			}
		}
		var got []string
		for k := range env {
			got = append(got, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s environment %v, want %v", name, got, want)
		}
		p, err := policy.Parse([]byte(env[config.EnvPolicy].(string)), config.EnvPolicy, rules.IDs())
		if err != nil {
			t.Errorf("%s: %s does not parse: %v", name, config.EnvPolicy, err)
		} else if p.ModeFor("cluster-admin-granted") != "remediate" {
			t.Errorf("%s: %s is not the configured policy", name, config.EnvPolicy)
		}
		if name == NotifierName {
			if env[config.EnvSlackSecretARN] != s.cfg.SlackSecretARN {
				t.Errorf("notifier secret %v, want the configured %s", env[config.EnvSlackSecretARN], s.cfg.SlackSecretARN)
			}
			continue
		}
		// The loop guard lists the execution role of every eksguard function.
		join, _ := at(env, config.EnvRemediationRoleARN, "Fn::Join").([]any)
		var listed []string
		if len(join) == 2 && join[0] == "," {
			for _, e := range join[1].([]any) {
				listed = append(listed, getAtt(e, "Arn"))
			}
		}
		sort.Strings(listed)
		var all []string
		for id := range roleIDs {
			all = append(all, id)
		}
		sort.Strings(all)
		if len(all) != len(FunctionNames())+1 || !slices.Equal(listed, all) { // the scan function's too: its fixes are eksguard's
			t.Errorf("%s: %s lists %v, want every function role %v", name, config.EnvRemediationRoleARN, listed, all)
		}
	}
}

// ---- least privilege --------------------------------------------------------

// roleStatements gathers every Allow statement of the policies attached to
// the function's role.
func (s *synthesized) roleStatements(t *testing.T, name string) []map[string]any {
	t.Helper()
	roleID := getAtt(s.mainJSON.resources("AWS::Lambda::Function")[s.functionID(name)]["Role"], "Arn")
	var out []map[string]any
	for _, p := range s.mainJSON.resources("AWS::IAM::Policy") {
		if !slices.Contains(refs(p["Roles"]), roleID) {
			continue
		}
		for _, st := range statements(p) {
			out = append(out, st.(map[string]any))
		}
	}
	if role := s.mainJSON.resources("AWS::IAM::Role")[roleID]; role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
		t.Errorf("%s role has inline or managed policies: %v %v", name, role["Policies"], role["ManagedPolicyArns"])
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// No statement of any function grants "*" (or "service:*") actions, and a
// "*" resource appears only for actions without resource-level permissions.
func TestNoWildcardActionOrResourceWhereANarrowerExists(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		for _, fn := range FunctionNames() {
			for _, st := range s.roleStatements(t, fn) {
				if st["Effect"] != "Allow" {
					continue
				}
				for _, a := range asList(st["Action"]) {
					if a == "*" || strings.HasSuffix(a.(string), ":*") {
						t.Errorf("%s/%s: wildcard action %v", name, fn, a)
					}
				}
				for _, r := range asList(st["Resource"]) {
					if r == "*" && !jsonEqual(t, st["Action"], "eks:ListClusters") {
						t.Errorf("%s/%s: resource * for %v", name, fn, st["Action"])
					}
				}
			}
		}
	}
}

// Under the notify-only policy no function may change anything in EKS or
// IAM; the iam function only reads clusters and node groups, the cluster
// function only the attached policies of this account's roles.
func TestNotifyModeHasNoWritePermission(t *testing.T) {
	s := fixture(t, "us-notify")
	for _, fn := range FunctionNames() {
		for _, st := range s.roleStatements(t, fn) {
			for _, a := range asList(st["Action"]) {
				action := a.(string)
				svc, op, _ := strings.Cut(action, ":")
				if svc != "eks" && svc != "iam" {
					continue
				}
				if fn == families.Cluster.Name && action == "iam:ListAttachedRolePolicies" {
					if !jsonEqual(t, st["Resource"], map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}) {
						t.Errorf("cluster may call %s on %v, want this account's roles only", action, st["Resource"])
					}
					continue
				}
				if fn != families.IAM.Name || svc != "eks" || !(strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")) {
					t.Errorf("%s may call %s under a notify-only policy", fn, action)
				}
			}
		}
	}
	if n := len(s.mainJSON.resources("AWS::IAM::Policy")); n != len(FunctionNames())+4+4 {
		t.Errorf("%d IAM policies, want the %d functions' default ones, the iam and cluster functions' detection policies, the cluster function's audit log subscription policy, the heartbeat canary's "+
			"and the scan's four (its default one, its read policy, its audit log subscription policy, its scheduler role's)", n, len(FunctionNames()))
	}
}

// The table is used through conditional updates (idempotency, breaker) by
// the family functions and conditional puts and updates (Slack dedup) by
// the notifier.
func TestTableAccessIsPerFunction(t *testing.T) {
	s := fixture(t, "eu-remediate")
	for _, fn := range FunctionNames() {
		var got []string
		for _, st := range s.roleStatements(t, fn) {
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "dynamodb:") {
					got = append(got, a.(string))
					if getAtt(st["Resource"], "Arn") == "" && getAtt(asList(st["Resource"])[0], "Arn") == "" {
						t.Errorf("%s: %s on %v, want the table", fn, a, st["Resource"])
					}
				}
			}
		}
		want := []string{"dynamodb:UpdateItem"}
		if fn == NotifierName {
			want = []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: table actions %v, want %v", fn, got, want)
		}
	}
}

// The EKS, IAM and CloudTrail statements in the template are the computed
// grants, and each function gets only its own family's.
func TestRemediationPoliciesAreTheGrants(t *testing.T) {
	s := fixture(t, "eu-remediate")
	for _, fam := range families.All() {
		rem, err := RemediationGrants(fam, s.cfg.Policy, s.cfg.Rules, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Statement{}
		for _, st := range append(DetectionGrants(fam, s.cfg.ClusterRegions), rem...) {
			want[st.Sid] = st
		}
		got := map[string]map[string]any{}
		for _, st := range s.roleStatements(t, fam.Name) {
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "eks:") || strings.HasPrefix(a.(string), "iam:") || strings.HasPrefix(a.(string), "cloudtrail:") {
					sid, _ := st["Sid"].(string)
					got[sid] = st
					break
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: EKS/IAM/CloudTrail statements %v, want %d", fam.Name, slices.Sorted(maps.Keys(got)), len(want))
		}
		for sid, w := range want {
			g, ok := got[sid]
			if !ok {
				t.Errorf("%s: no statement %s", fam.Name, sid)
				continue
			}
			var actions []any
			for _, a := range w.Actions {
				actions = append(actions, a)
			}
			if !sameSet(t, asList(g["Action"]), actions) {
				t.Errorf("%s/%s: actions %v, want %v", fam.Name, sid, g["Action"], w.Actions)
			}
			var res []any
			for _, r := range w.Resources {
				if r == "*" {
					res = append(res, r)
				} else {
					res = append(res, map[string]any{"Fn::Sub": r})
				}
			}
			if !sameSet(t, asList(g["Resource"]), res) {
				t.Errorf("%s/%s: resources %s, want %s", fam.Name, sid, canonical(t, g["Resource"]), canonical(t, res))
			}
			if len(w.Condition) > 0 {
				var arns []any
				for _, a := range w.Condition["ArnEquals"]["iam:PolicyARN"] {
					arns = append(arns, map[string]any{"Fn::Sub": a})
				}
				c, _ := g["Condition"].(map[string]any)
				ae, _ := c["ArnEquals"].(map[string]any)
				if len(c) != 1 || len(ae) != 1 || !sameSet(t, asList(ae["iam:PolicyARN"]), arns) {
					t.Errorf("%s/%s: condition %s", fam.Name, sid, canonical(t, g["Condition"]))
				}
			} else if g["Condition"] != nil {
				t.Errorf("%s/%s: unexpected condition %v", fam.Name, sid, g["Condition"])
			}
		}
	}
	// The notifier reads its secret and writes the table, and nothing in EKS or IAM.
	for _, st := range s.roleStatements(t, NotifierName) {
		for _, a := range asList(st["Action"]) {
			svc, _, _ := strings.Cut(a.(string), ":")
			if !slices.Contains([]string{"logs", "dynamodb", "secretsmanager", "sqs"}, svc) {
				t.Errorf("notifier may call %s", a)
			}
		}
	}
}

// ---- storage, topic, alarms -------------------------------------------------

func TestEncryptionTTLAndSSL(t *testing.T) {
	s := fixture(t, "eu-remediate")
	s.main.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"AttributeDefinitions":             []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
	})
	s.main.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))

	topics := s.mainJSON.resources("AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("%d topics, want 1", len(topics))
	}
	for id, tp := range topics {
		key := s.mainJSON.resource(getAtt(tp["KmsMasterKeyId"], "Arn"))
		if key == nil || at(key, "Properties", "EnableKeyRotation") != true {
			t.Errorf("topic %s is not encrypted with a rotated customer key: %v", id, tp["KmsMasterKeyId"])
		}
		if !hasSSLDeny(s.mainJSON, "AWS::SNS::TopicPolicy", "Topics", id) {
			t.Errorf("topic %s accepts non-TLS publishes", id)
		}
	}
	for id, q := range s.mainJSON.resources("AWS::SQS::Queue") {
		if q["SqsManagedSseEnabled"] != true && q["KmsMasterKeyId"] == nil {
			t.Errorf("queue %s is not encrypted", id)
		}
		if !hasSSLDeny(s.mainJSON, "AWS::SQS::QueuePolicy", "Queues", id) {
			t.Errorf("queue %s accepts non-TLS requests", id)
		}
	}
	// The kill switch and the heartbeat parameter (TestHeartbeatCanary).
	params := s.mainJSON.resources("AWS::SSM::Parameter")
	if len(params) != 2 {
		t.Fatalf("%d SSM parameters, want the kill switch and the heartbeat", len(params))
	}
	var kill []map[string]any
	for _, p := range params {
		if p["Name"] != heartbeat.Parameter("eksguard") {
			kill = append(kill, p)
		}
	}
	if len(kill) != 1 || kill[0]["Name"] != "/eksguard/remediation" || kill[0]["Value"] != "on" {
		t.Errorf("kill switch: got %v, want /eksguard/remediation = on", kill)
	}
}

// hasSSLDeny reports whether a policy of the given type attached to the
// resource denies requests without aws:SecureTransport.
func hasSSLDeny(tm template, policyType, attachKey, id string) bool {
	for _, p := range tm.resources(policyType) {
		if !slices.Contains(refs(p[attachKey]), id) {
			continue
		}
		for _, st := range statements(p) {
			m := st.(map[string]any)
			c, _ := m["Condition"].(map[string]any)
			b, _ := c["Bool"].(map[string]any)
			if m["Effect"] == "Deny" && b["aws:SecureTransport"] == "false" {
				return true
			}
		}
	}
	return false
}

func TestSubscriptionsAndSecret(t *testing.T) {
	s := fixture(t, "eu-remediate")
	filter := map[string]any{"severityLevel": []any{
		map[string]any{"numeric": []any{">=", float64(s.cfg.Policy.Notify.SNS.MinSeverity)}},
		map[string]any{"exists": false},
	}}
	protocols := map[string]string{}
	for _, sub := range s.mainJSON.resources("AWS::SNS::Subscription") {
		p := sub["Protocol"].(string)
		if p == "lambda" {
			// Findings from the Slack threshold up, and alarm messages (they have no severityLevel).
			want := map[string]any{"severityLevel": []any{
				map[string]any{"numeric": []any{">=", float64(s.cfg.Policy.Notify.Slack.MinSeverity)}},
				map[string]any{"exists": false},
			}}
			if !jsonEqual(t, sub["FilterPolicy"], want) {
				t.Errorf("notifier subscription filter %s, want %s", canonical(t, sub["FilterPolicy"]), canonical(t, want))
			}
			continue
		}
		protocols[p], _ = sub["Endpoint"].(string)
		if !jsonEqual(t, sub["FilterPolicy"], filter) {
			t.Errorf("%s subscription filter %s, want %s", p, canonical(t, sub["FilterPolicy"]), canonical(t, filter))
		}
	}
	if protocols["email"] != "oncall@example.com" || protocols["https"] != "https://hooks.example.com/eksguard" {
		t.Errorf("subscriptions %v", protocols)
	}
	if n := len(s.mainJSON.resources("AWS::SecretsManager::Secret")); n != 0 {
		t.Errorf("an existing secret was configured, but the stack creates %d", n)
	}

	us := fixture(t, "us-notify")
	secrets := us.mainJSON.resources("AWS::SecretsManager::Secret")
	if len(secrets) != 1 {
		t.Fatalf("%d secrets, want the one the stack creates", len(secrets))
	}
	for id, sec := range secrets {
		if sec["GenerateSecretString"] != nil || sec["SecretString"] != nil {
			t.Errorf("secret %s is not created empty: %v", id, sec)
		}
		env, _ := at(us.mainJSON.resources("AWS::Lambda::Function")[us.functionID(NotifierName)], "Environment", "Variables").(map[string]any)
		if ref(env[config.EnvSlackSecretARN]) != id {
			t.Errorf("notifier reads secret %v, want %s", env[config.EnvSlackSecretARN], id)
		}
	}
}

func TestAlarms(t *testing.T) {
	s := fixture(t, "eu-remediate")
	alarms := s.mainJSON.resources("AWS::CloudWatch::Alarm")
	topic := ""
	for id := range s.mainJSON.resources("AWS::SNS::Topic") {
		topic = id
	}
	type key struct{ ns, metric, dim string }
	got := map[key]bool{}
	for id, a := range alarms {
		if !slices.Equal(refs(a["AlarmActions"]), []string{topic}) {
			t.Errorf("alarm %s acts on %v, want the topic", id, a["AlarmActions"])
		}
		dim := ""
		for _, d := range asList(a["Dimensions"]) {
			if dm, ok := d.(map[string]any); ok {
				dim = ref(dm["Value"]) + getAtt(dm["Value"], "QueueName")
			}
		}
		got[key{a["Namespace"].(string), a["MetricName"].(string), dim}] = true
	}
	for _, name := range FunctionNames() {
		fn := s.functionID(name)
		for _, m := range []string{"Errors", "Throttles"} {
			if !got[key{"AWS/Lambda", m, fn}] {
				t.Errorf("no %s alarm on the %s function", m, name)
			}
		}
	}
	var dlqs []string
	for id, q := range s.mainJSON.resources("AWS::SQS::Queue") {
		if q["DelaySeconds"] == nil { // every queue but the defer queue itself is a dead-letter queue
			dlqs = append(dlqs, id)
		}
	}
	if len(dlqs) != len(FunctionNames())+2 {
		t.Errorf("%d dead-letter queues, want one per function plus undelivered events and deferred fixes", len(dlqs))
	}
	for _, q := range dlqs {
		if !got[key{"AWS/SQS", "ApproximateNumberOfMessagesVisible", q}] {
			t.Errorf("no depth alarm on dead-letter queue %s", q)
		}
	}
	if !got[key{"eksguard", FailedRemediationMetric, ""}] {
		t.Error("no alarm on failed remediations")
	}
	var notifyAlarm bool
	for _, a := range alarms {
		d, _ := asList(a["Dimensions"])[0].(map[string]any)
		if a["Namespace"] == slackalert.MetricNamespace && a["MetricName"] == slackalert.MetricNotificationFailure &&
			d["Name"] == "Function" && d["Value"] == slackalert.MetricFunction {
			notifyAlarm = true
		}
	}
	if !notifyAlarm {
		t.Error("no alarm on the notifier's Slack delivery failures")
	}
	filters := s.mainJSON.resources("AWS::Logs::MetricFilter")
	if len(filters) != len(families.All()) {
		t.Errorf("%d metric filters, want one per family", len(filters))
	}
	for _, f := range filters {
		mt := f["MetricTransformations"].([]any)[0].(map[string]any)
		if f["FilterPattern"] != FailedRemediationPattern || mt["MetricNamespace"] != "eksguard" || mt["MetricName"] != FailedRemediationMetric {
			t.Errorf("metric filter %v", f)
		}
	}
}

// ---- cdk-nag ----------------------------------------------------------------

// validationErrors reads the AwsSolutions errors, as "/path: message", from
// the validation report a failed synthesis leaves in the app's output
// directory. (With cdk.json's @aws-cdk/core:annotationsInValidationReport,
// error annotations fail the synthesis itself.)
func validationErrors(t *testing.T, app awscdk.App) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(*app.Outdir(), "validation-report.json"))
	if err != nil {
		t.Fatalf("synthesis failed without a validation report: %v", err)
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string
				Severity            string
				ViolatingConstructs []struct{ ConstructPath string }
			}
		}
	}
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, pr := range report.PluginReports {
		for _, v := range pr.Violations {
			if v.Severity != "error" {
				continue
			}
			for _, c := range v.ViolatingConstructs {
				errs = append(errs, "/"+c.ConstructPath+": "+strings.TrimSpace(v.Description))
			}
		}
	}
	return errs
}

// failOnValidation runs fn, which synthesizes, and turns a failed
// validation into a test failure that lists the errors.
func failOnValidation(t *testing.T, app awscdk.App, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if !strings.Contains(fmt.Sprint(r), "Validation failed") {
				panic(r)
			}
			t.Fatalf("synthesis failed validation:\n%s", strings.Join(validationErrors(t, app), "\n"))
		}
	}()
	fn()
}

// nagErrors lists the stack's AwsSolutions errors as "path: message",
// whether they come as annotations or fail the synthesis.
func nagErrors(t *testing.T, app awscdk.App, st awscdk.Stack) (errs []string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if !strings.Contains(fmt.Sprint(r), "Validation failed") {
				panic(r)
			}
			errs = validationErrors(t, app)
		}
	}()
	for _, m := range *assertions.Annotations_FromStack(st).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		//lint:ignore SA1019 assertions.Annotations.FindError returns cxapi.SynthesisMessage; aws-cdk-go has no replacement type
		errs = append(errs, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	return errs
}

func TestCDKNagAwsSolutionsHasNoErrors(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		stacks := append([]awscdk.Stack{s.dep.Main}, s.dep.Forwarders...)
		for _, st := range stacks {
			for _, e := range nagErrors(t, s.app, st) {
				t.Errorf("%s/%s: %s", name, *st.StackName(), e)
			}
		}
	}
}

// Every suppression carries a real reason, and IAM5 ones name the exact
// findings they accept.
func TestNagSuppressionsAreJustified(t *testing.T) {
	s := fixture(t, "eu-remediate")
	n := 0
	for _, tm := range []template{s.mainJSON, s.forwarder} {
		for id, r := range tm["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			for _, sup := range asList(nag["rules_to_suppress"]) {
				m, ok := sup.(map[string]any)
				if !ok {
					continue
				}
				n++
				if reason, _ := m["reason"].(string); len(reason) < 40 {
					t.Errorf("%s: suppression of %v has a thin reason %q", id, m["id"], reason)
				}
				if m["id"] == "AwsSolutions-IAM5" && len(asList(m["applies_to"])) == 0 {
					t.Errorf("%s: IAM5 suppressed wholesale, not per finding", id)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no suppressions found; the check above looked at nothing")
	}
}

// The checks are really applied: an unencrypted queue without SSL added to
// the stack fails them.
func TestCDKNagCatchesANewViolation(t *testing.T) {
	app := newApp(t, map[string]string{"assetDir": filepath.Join(tmpRoot, "us-notify-build")})
	fixture(t, "us-notify") // makes sure the asset directory exists
	cfg, err := Resolve(AppLookup(app, func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := New(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	awssqs.NewQueue(dep.Main, jsii.String("Careless"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	errs := strings.Join(nagErrors(t, app, dep.Main), "\n")
	for _, rule := range []string{"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} {
		if !strings.Contains(errs, "/eksguard/Careless/Resource: "+rule) {
			t.Errorf("cdk-nag did not report %s on the careless queue; errors:\n%s", rule, errs)
		}
	}
}

// ---- settings from the app ----------------------------------------------------

func TestAppLookupPrefersContextOverEnvironment(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"stackName":   "from-context",
		"alertEmails": []any{"a@example.com", "b@example.com"},
	}})
	env := map[string]string{
		"EKSGUARD_STACK_NAME":    "from-env",
		"EKSGUARD_CLUSTER_NAMES": "prod",
		"AWS_REGION":             "eu-central-1",
	}
	look := AppLookup(app, func(k string) string { return env[k] })
	for key, want := range map[string]string{
		"stackName":    "from-context",
		"alertEmails":  "a@example.com,b@example.com",
		"clusterNames": "prod",
		"region":       "eu-central-1",
		"account":      "",
	} {
		var setting Setting
		for _, s := range Settings {
			if s.Context == key {
				setting = s
			}
		}
		got, err := look(setting)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", key, got, err, want)
		}
	}
}
