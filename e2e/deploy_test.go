//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/families"
)

// The deployment the test stands up: what `cdk synth` puts in the cloud
// assembly, with every CloudFormation reference replaced by a name or ARN
// of this machine's fakes.

const (
	stackName = "eksguard"
	account   = "111122223333"
	region    = "us-east-1" // the default region: one stack, IAM events arrive directly
)

// template is a CloudFormation template as JSON.
type template struct {
	Resources map[string]resource `json:"Resources"`
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

// fnSpec is one synthesized Lambda function.
type fnSpec struct {
	Name      string // the function's directory under functions/ and build/
	LogicalID string
	// Bootstrap is the binary `cdk deploy` would upload: the asset's copy
	// of build/<name>/bootstrap.
	Bootstrap string
	Arch      string
	Timeout   int
	MemoryMB  int
	LogFormat string
	LogLevel  string
	RoleARN   string
	// RoleID is the logical ID of the function's execution role.
	RoleID string
	// Policy is the identity policy the template gives the role: the
	// statements of every AWS::IAM::Policy attached to it, resolved.
	Policy []awsfake.Statement
	// AccessKey is the static access key the function signs with; the
	// fakes map it to the role and its policy.
	AccessKey string
	// Env is the function's environment, references resolved.
	Env map[string]string
	// Async invocations (EventBridge, SNS): retries, then the failure queue.
	AsyncRetries int
	OnFailure    string
}

// eventRule is an EventBridge rule whose target is a function.
type eventRule struct {
	LogicalID string
	Pattern   map[string]any
	Target    string // function name
}

// subscription is an SNS subscription of a function.
type subscription struct {
	TopicARN string
	Filter   map[string]any // nil: everything
	Target   string
}

// queueMapping is an SQS event source mapping of a function.
type queueMapping struct {
	QueueURL       string
	BatchSize      int
	ReportFailures bool
	Target         string
}

// deployment is the synthesized stack, resolved against the fakes.
type deployment struct {
	Functions     map[string]*fnSpec
	Rules         []eventRule
	Subscriptions []subscription
	Mappings      []queueMapping
	// KillSwitch is the SSM parameter's name and the value it is deployed with.
	KillSwitch, KillSwitchValue string
	// SlackSecret is the ARN of the secret the notifier reads the webhook from.
	SlackSecret string
	// Heartbeat is the heartbeat parameter's name; Canary the schedule
	// that writes it.
	Heartbeat string
	Canary    canarySpec
	// Scan is the scheduled scan's schedule.
	Scan scanSchedule
	// Template is the synthesized template as read, for scenarios that
	// deploy a changed copy.
	Template template
	resolver *resolver
}

// scanSchedule is the scheduled scan's schedule: its expression, the
// function it invokes and the input it sends (Scheduler's context
// attributes left in).
type scanSchedule struct {
	Expression, Target, Input string
}

// canarySpec is the heartbeat schedule's target, as EventBridge Scheduler
// would call it: the SDK action, its input and the role it runs as (with
// the key the test signs its calls with).
type canarySpec struct {
	Target, Input   string
	RoleARN, RoleID string
	AccessKey       string
	Policy          []awsfake.Statement
}

// synth runs `cdk synth` (the CLI pinned in package.json, running the app
// in cdk.json) for the given policy file into a temporary cloud assembly,
// with the functions from buildDir, and returns the assembly's directory.
func synth(t *testing.T, root, policyFile, buildDir string, settings ...string) string {
	t.Helper()
	cdk := filepath.Join(root, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		t.Fatalf("the CDK CLI is not installed (%v): run `npm ci` in %s", err, root)
	}
	out := filepath.Join(t.TempDir(), "cdk.out")
	// The test reads the construct paths and asset directories from the
	// template's metadata; notices and telemetry would need the internet.
	cmd := exec.Command(cdk, "synth", "--quiet", "--output", out, "--path-metadata", "--asset-metadata",
		"--no-notices", "--no-version-reporting",
		"-c", "policyFile="+policyFile, "-c", "assetDir="+buildDir,
		"-c", "account="+account, "-c", "region="+region, "-c", "stackName="+stackName)
	for _, kv := range settings {
		cmd.Args = append(cmd.Args, "-c", kv)
	}
	cmd.Dir = root
	// Settings come from the context above only, not from this shell.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EKSGUARD_") && !strings.HasPrefix(kv, "CDK_") && !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, b)
	}
	return out
}

// loadDeployment reads the stack's template from the cloud assembly and
// resolves it: queues get URLs on the SQS fake, everything else a
// deterministic name or ARN in the test account.
func loadDeployment(t *testing.T, assembly, buildDir, sqsURL string) *deployment {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(assembly, stackName+".template.json"))
	if err != nil {
		t.Fatalf("read the synthesized template: %v", err)
	}
	var tm template
	if err := json.Unmarshal(raw, &tm); err != nil {
		t.Fatalf("synthesized template: %v", err)
	}
	r := &resolver{tm: tm, sqsURL: sqsURL}
	d := &deployment{Functions: map[string]*fnSpec{}, Template: tm, resolver: r}
	byID := map[string]string{} // function logical ID -> name

	for _, id := range tm.ids("AWS::Lambda::Function") {
		res := tm.Resources[id]
		fn := &fnSpec{LogicalID: id, Env: map[string]string{}}
		path, _ := res.Metadata["aws:cdk:path"].(string) // eksguard/AccessFunction/Resource
		parts := strings.Split(path, "/")
		if len(parts) != 3 || !strings.HasSuffix(parts[1], "Function") {
			t.Fatalf("function %s: unexpected construct path %q", id, path)
		}
		fn.Name = strings.ToLower(strings.TrimSuffix(parts[1], "Function"))
		asset, _ := res.Metadata["aws:asset:path"].(string)
		if asset == "" {
			t.Fatalf("function %s: no asset in the template metadata", fn.Name)
		}
		fn.Bootstrap = filepath.Join(assembly, asset, "bootstrap")
		checkBootstrap(t, fn.Name, fn.Bootstrap, filepath.Join(buildDir, fn.Name, "bootstrap"))

		p := res.Properties
		if h := str(p["Handler"]); h != "bootstrap" || str(p["Runtime"]) != "provided.al2023" {
			t.Fatalf("function %s: runtime %s handler %s; the test runs custom-runtime bootstraps only", fn.Name, str(p["Runtime"]), h)
		}
		archs, _ := p["Architectures"].([]any)
		if len(archs) != 1 {
			t.Fatalf("function %s: architectures %v", fn.Name, archs)
		}
		fn.Arch = str(archs[0])
		fn.Timeout, fn.MemoryMB = num(t, p["Timeout"]), num(t, p["MemorySize"])
		lc, _ := p["LoggingConfig"].(map[string]any)
		fn.LogFormat, fn.LogLevel = str(lc["LogFormat"]), str(lc["ApplicationLogLevel"])
		fn.RoleARN = r.value(t, p["Role"])
		fn.RoleID = r.getAttID(p["Role"], "Arn")
		fn.AccessKey = accessKey(fn.Name)
		envBlock, _ := p["Environment"].(map[string]any)
		vars, _ := envBlock["Variables"].(map[string]any)
		for k, v := range vars {
			fn.Env[k] = r.value(t, v)
		}
		d.Functions[fn.Name] = fn
		byID[id] = fn.Name
	}
	target := func(what string, v any) string {
		t.Helper()
		id := r.refID(v)
		if id == "" {
			id = r.getAttID(v, "Arn")
		}
		name, ok := byID[id]
		if !ok {
			t.Fatalf("%s: target %v is not one of the stack's functions", what, v)
		}
		return name
	}

	for _, id := range tm.ids("AWS::Lambda::EventInvokeConfig") {
		p := tm.Resources[id].Properties
		fn := d.Functions[target(id, p["FunctionName"])]
		fn.AsyncRetries = num(t, p["MaximumRetryAttempts"])
		if dest, ok := dig(p, "DestinationConfig", "OnFailure", "Destination"); ok {
			fn.OnFailure = r.value(t, dest)
		}
	}
	for _, id := range tm.ids("AWS::Events::Rule") {
		p := tm.Resources[id].Properties
		if s := str(p["State"]); s != "ENABLED" {
			t.Fatalf("rule %s is %s", id, s)
		}
		if p["EventBusName"] != nil {
			t.Fatalf("rule %s is on bus %v; the test delivers to the default bus only", id, p["EventBusName"])
		}
		pattern, _ := p["EventPattern"].(map[string]any)
		targets, _ := p["Targets"].([]any)
		for _, tg := range targets {
			d.Rules = append(d.Rules, eventRule{LogicalID: id, Pattern: pattern, Target: target("rule "+id, tg.(map[string]any)["Arn"])})
		}
	}
	for _, id := range tm.ids("AWS::SNS::Subscription") {
		p := tm.Resources[id].Properties
		if str(p["Protocol"]) != "lambda" {
			continue // e-mail and HTTPS subscribers are outside this machine
		}
		if scope := str(p["FilterPolicyScope"]); scope != "" && scope != "MessageAttributes" {
			t.Fatalf("subscription %s: filter policy scope %s is not supported by the test", id, scope)
		}
		filter, _ := p["FilterPolicy"].(map[string]any)
		d.Subscriptions = append(d.Subscriptions, subscription{TopicARN: r.value(t, p["TopicArn"]), Filter: filter, Target: target("subscription "+id, p["Endpoint"])})
	}
	for _, id := range tm.ids("AWS::Lambda::EventSourceMapping") {
		p := tm.Resources[id].Properties
		queue := r.getAttID(p["EventSourceArn"], "Arn")
		if tm.Resources[queue].Type == "AWS::Kinesis::Stream" {
			continue // the organization's audit stream: organization-audit-log feeds its batches
		}
		if tm.Resources[queue].Type != "AWS::SQS::Queue" {
			t.Fatalf("event source mapping %s: source %v is not a queue of the stack", id, p["EventSourceArn"])
		}
		types, _ := p["FunctionResponseTypes"].([]any)
		d.Mappings = append(d.Mappings, queueMapping{
			QueueURL: r.value(t, map[string]any{"Ref": queue}), BatchSize: num(t, p["BatchSize"]),
			ReportFailures: slices.Contains(types, any("ReportBatchItemFailures")), Target: target("event source mapping "+id, p["FunctionName"]),
		})
	}
	for _, id := range tm.ids("AWS::SSM::Parameter") {
		p := tm.Resources[id].Properties
		if name := str(p["Name"]); strings.HasSuffix(name, "/heartbeat") {
			d.Heartbeat = name
			continue
		}
		d.KillSwitch, d.KillSwitchValue = str(p["Name"]), str(p["Value"])
	}
	for _, id := range tm.ids("AWS::Scheduler::Schedule") {
		tg, _ := tm.Resources[id].Properties["Target"].(map[string]any)
		if _, ok := tg["Arn"].(string); !ok {
			// A function's ARN: the scheduled scan.
			d.Scan = scanSchedule{Expression: str(tm.Resources[id].Properties["ScheduleExpression"]),
				Target: target("schedule "+id, tg["Arn"]), Input: r.value(t, tg["Input"])}
			continue
		}
		d.Canary = canarySpec{
			Target: str(tg["Arn"]), Input: str(tg["Input"]),
			RoleARN: r.value(t, tg["RoleArn"]), RoleID: r.getAttID(tg["RoleArn"], "Arn"),
			AccessKey: accessKey("canary"),
		}
		d.Canary.Policy = rolePolicy(t, tm, r, d.Canary.RoleID)
	}
	if d.Heartbeat == "" || d.Canary.RoleID == "" {
		t.Fatalf("the stack has heartbeat parameter %q and canary %+v: want both", d.Heartbeat, d.Canary)
	}
	for _, fn := range d.Functions {
		fn.Policy = rolePolicy(t, tm, r, fn.RoleID)
		if len(fn.Policy) == 0 {
			t.Fatalf("function %s: the template gives its role %s no policy", fn.Name, fn.RoleID)
		}
	}
	d.SlackSecret = d.Functions["notifier"].Env["EKSGUARD_SLACK_SECRET_ARN"]
	missing := false
	for _, name := range functionNames() {
		missing = missing || d.Functions[name] == nil
	}
	if missing || d.KillSwitch == "" || d.SlackSecret == "" {
		t.Fatalf("the stack has functions %v, kill switch %q, Slack secret %q: want %v with both",
			sortedKeys(d.Functions), d.KillSwitch, d.SlackSecret, functionNames())
	}
	return d
}

// checkBootstrap makes sure the asset is the linux/arm64 binary `make
// build` produced.
func checkBootstrap(t *testing.T, name, asset, built string) {
	t.Helper()
	f, err := elf.Open(asset)
	if err != nil {
		t.Fatalf("function %s: %s is not an ELF binary: %v", name, asset, err)
	}
	machine := f.Machine
	f.Close()
	if machine != elf.EM_AARCH64 {
		t.Fatalf("function %s: the packaged bootstrap is built for %v, want arm64", name, machine)
	}
	if a, b := fileSum(t, asset), fileSum(t, built); a != b {
		t.Fatalf("function %s: the packaged bootstrap differs from %s", name, built)
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func (tm template) ids(typ string) []string {
	var out []string
	for id, r := range tm.Resources {
		if r.Type == typ {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// resolver stands in for CloudFormation: it gives each resource the name
// or ARN it would have once deployed. It knows exactly the intrinsics the
// functions' settings use and fails on anything else.
type resolver struct {
	tm     template
	sqsURL string
	// in is the account the template is deployed in (account when empty).
	in string
}

func (r *resolver) value(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if id := r.refID(x); id != "" {
			return r.ref(t, id)
		}
		if id := r.getAttID(x, "Arn"); id != "" {
			return r.arn(t, id)
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				out[i] = r.value(t, p)
			}
			return strings.Join(out, str(j[0]))
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			return subVar.ReplaceAllStringFunc(sub, func(m string) string {
				name := m[2 : len(m)-1]
				if id, attr, ok := strings.Cut(name, "."); ok {
					return r.value(t, map[string]any{"Fn::GetAtt": []any{id, attr}})
				}
				return r.ref(t, name)
			})
		}
	}
	t.Fatalf("cannot resolve %v: the e2e test knows Ref, Fn::GetAtt Arn, Fn::Join and Fn::Sub (string form) only", v)
	return ""
}

func (r *resolver) refID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["Ref"].(string)
	return id
}

func (r *resolver) getAttID(v any, attr string) string {
	m, _ := v.(map[string]any)
	ga, _ := m["Fn::GetAtt"].([]any)
	if len(ga) != 2 || ga[1] != attr {
		return ""
	}
	id, _ := ga[0].(string)
	return id
}

// physical is the deployed name of a resource.
func physical(id string) string { return stackName + "-" + id }

func (r *resolver) ref(t *testing.T, id string) string {
	t.Helper()
	switch id {
	case "AWS::Region":
		return region
	case "AWS::AccountId":
		if r.in != "" {
			return r.in
		}
		return account
	case "AWS::Partition":
		return "aws"
	}
	res, ok := r.tm.Resources[id]
	switch {
	case !ok:
		t.Fatalf("Ref %s: no such resource", id)
	case res.Type == "AWS::DynamoDB::Table", res.Type == "AWS::Lambda::Function":
		return physical(id)
	case res.Type == "AWS::SNS::Topic":
		return "arn:aws:sns:" + region + ":" + account + ":" + physical(id)
	case res.Type == "AWS::SQS::Queue":
		return r.sqsURL + "/" + account + "/" + physical(id)
	case res.Type == "AWS::SecretsManager::Secret":
		return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + physical(id) + "-AbCdEf"
	case res.Type == "AWS::SSM::Parameter":
		if name := str(res.Properties["Name"]); name != "" {
			return name
		}
	}
	t.Fatalf("Ref %s (%s): not known to the e2e resolver", id, res.Type)
	return ""
}

func (r *resolver) arn(t *testing.T, id string) string {
	t.Helper()
	switch r.tm.Resources[id].Type {
	case "AWS::IAM::Role":
		return "arn:aws:iam::" + account + ":role/" + physical(id)
	case "AWS::SQS::Queue":
		return "arn:aws:sqs:" + region + ":" + account + ":" + physical(id)
	case "AWS::Lambda::Function":
		return "arn:aws:lambda:" + region + ":" + account + ":function:" + physical(id)
	case "AWS::DynamoDB::Table":
		return "arn:aws:dynamodb:" + region + ":" + account + ":table/" + physical(id)
	case "AWS::KMS::Key":
		return "arn:aws:kms:" + region + ":" + account + ":key/" + physical(id)
	case "AWS::Logs::LogGroup":
		return "arn:aws:logs:" + region + ":" + account + ":log-group:" + physical(id) + ":*"
	case "AWS::Kinesis::Stream":
		name := str(r.tm.Resources[id].Properties["Name"])
		if name == "" {
			name = physical(id)
		}
		return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name
	}
	t.Fatalf("Fn::GetAtt %s.Arn (%s): not known to the e2e resolver", id, r.tm.Resources[id].Type)
	return ""
}

// subVar is a ${...} of an Fn::Sub string.
var subVar = regexp.MustCompile(`\$\{[A-Za-z0-9:.]+\}`)

// accessKey is the static access key a function signs its AWS calls with
// in the test (one per function, so the fakes know whose role called).
func accessKey(fn string) string { return "ASIAE2E" + strings.ToUpper(fn) }

// rolePolicy is the identity policy of a role: every statement of the
// template's AWS::IAM::Policy resources attached to it, references
// resolved to the fakes' names and ARNs.
func rolePolicy(t *testing.T, tm template, r *resolver, roleID string) []awsfake.Statement {
	t.Helper()
	var out []awsfake.Statement
	for _, id := range tm.ids("AWS::IAM::Policy") {
		p := tm.Resources[id].Properties
		attached := false
		for _, role := range list(p["Roles"]) {
			attached = attached || r.refID(role) == roleID
		}
		if !attached {
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		for _, raw := range list(doc["Statement"]) {
			st, _ := raw.(map[string]any)
			for k := range st {
				switch k {
				case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
				default:
					t.Fatalf("policy %s: statement element %s is not known to the e2e test", id, k)
				}
			}
			s := awsfake.Statement{Sid: str(st["Sid"]), Effect: str(st["Effect"]),
				Actions: r.values(t, st["Action"]), NotActions: r.values(t, st["NotAction"]),
				Resources: r.values(t, st["Resource"]), NotResources: r.values(t, st["NotResource"])}
			if cond, ok := st["Condition"].(map[string]any); ok {
				s.Condition = map[string]map[string][]string{}
				for op, keys := range cond {
					km, _ := keys.(map[string]any)
					s.Condition[op] = map[string][]string{}
					for k, v := range km {
						s.Condition[op][k] = r.values(t, v)
					}
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// values resolves a policy element that is one value or a list of them.
func (r *resolver) values(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, x := range list(v) {
		out = append(out, r.value(t, x))
	}
	return out
}

// list is v as a list: nil for nothing, a one-element list for a single value.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(t *testing.T, v any) int {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("want a number, got %v", v)
	}
	return int(f)
}

func dig(v any, path ...string) (any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compactJSON is v as one line of JSON, for messages.
func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}

// functionNames are the functions the stack deploys by default: one per
// family (the CloudTrail ones and kubernetes), the notifier and the
// scheduled scan.
func functionNames() []string {
	var names []string
	for _, f := range families.All() {
		names = append(names, f.Name)
	}
	return append(names, families.Kubernetes.Name, "notifier", "scan")
}
