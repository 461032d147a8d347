package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackaction"
)

// Setting is one deployment setting: a cdk.json / --context key and the
// environment variable read when the context does not set it.
type Setting struct {
	Context string
	// Env are the environment variables read, in order, when the context does not set it.
	Env     []string
	Purpose string
}

// Settings lists every deployment setting, for docs/deploy.md and the tests.
var Settings = []Setting{
	{"policyFile", []string{"EKSGUARD_POLICY_FILE"}, "YAML policy file, validated at synth and given to the functions in its JSON form (default: the built-in notify-only policy)"},
	{"slackSecretArn", []string{config.EnvSlackSecretARN}, "ARN of an existing Secrets Manager secret holding the Slack webhook URL (default: the stack creates an empty one)"},
	{"alertEmails", []string{"EKSGUARD_ALERT_EMAILS"}, "comma-separated e-mail addresses subscribed to findings and alarms"},
	{"alertHttpsEndpoints", []string{"EKSGUARD_ALERT_HTTPS_ENDPOINTS"}, "comma-separated HTTPS URLs subscribed to findings and alarms"},
	{"account", []string{"CDK_DEFAULT_ACCOUNT"}, "account to deploy to (default: the CLI's credentials; may stay unset for synth)"},
	{"region", []string{"CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"}, "region of the main stack (synth without any uses us-east-1)"},
	{"stackName", []string{"EKSGUARD_STACK_NAME"}, "name of the main stack (default eksguard); the IAM forwarder is <name>-iam-forwarder"},
	{"clusterNames", []string{"EKSGUARD_CLUSTER_NAMES"}, "comma-separated EKS cluster names remediation may touch (default: every cluster in the account and region)"},
	{"auditLogClusters", []string{"EKSGUARD_AUDIT_LOG_CLUSTERS"}, "comma-separated EKS clusters of the stack's region whose audit log group (/aws/eks/<name>/cluster, which must exist) gets the kubernetes function's subscription filter at deploy time; clusters whose audit logging is turned on later are subscribed by the cluster function"},
	{"clusterRegions", []string{config.EnvClusterRegions}, "comma-separated regions whose clusters the iam function lists to recognise cluster and node roles, and the scheduled scan reads (default: the stack's region)"},
	{"reservedConcurrency", []string{"EKSGUARD_RESERVED_CONCURRENCY"}, "reserved concurrency of each function (default 5)"},
	{"logRetentionDays", []string{"EKSGUARD_LOG_RETENTION_DAYS"}, "CloudWatch Logs retention of the functions' logs (default 90)"},
	{"heartbeatMinutes", []string{"EKSGUARD_HEARTBEAT_MINUTES"}, "minutes between two writes of the heartbeat canary (default 15)"},
	{"heartbeatWindowMinutes", []string{"EKSGUARD_HEARTBEAT_WINDOW_MINUTES"}, "minutes without a heartbeat heard before the HeartbeatMissing alarm fires; at least twice heartbeatMinutes, at most 1440 (default 30)"},
	{"scanSchedule", []string{"EKSGUARD_SCAN_SCHEDULE"}, "EventBridge Scheduler expression of the scheduled scan, such as rate(6 hours) or cron(0 3 * * ? *); off disables it (default rate(1 day))"},
	{"assetDir", []string{"EKSGUARD_ASSET_DIR"}, "directory holding <function>/bootstrap, as `make build` writes it (default build)"},
	// Organization mode (org.go, docs/organizations.md): none set is the single-account stack.
	{"organizationId", []string{"EKSGUARD_ORGANIZATION_ID"}, "AWS Organizations ID (o-...): guard the organization's member accounts from this central stack (default: this account only)"},
	{"memberOrganizationalUnits", []string{"EKSGUARD_MEMBER_OUS"}, "comma-separated OU (ou-...) or root (r-...) IDs the member StackSet deploys to automatically"},
	{"memberRegions", []string{"EKSGUARD_MEMBER_REGIONS"}, "comma-separated regions watched in every member account; us-east-1 is added for IAM (default: the central region)"},
	{"memberAccounts", []string{"EKSGUARD_MEMBER_ACCOUNTS"}, "comma-separated member account IDs: one member stack per account and member region for `cdk deploy`, where StackSets cannot be used"},
	{"remediationRoleName", []string{"EKSGUARD_REMEDIATION_ROLE_NAME"}, "name of the role the member stack creates in every member account for the central functions (default " + assume.DefaultRoleName + ")"},
	{"stackSetCallAs", []string{"EKSGUARD_STACKSET_CALL_AS"}, "DELEGATED_ADMIN (default: the central account is a StackSets delegated administrator) or SELF (it is the management account)"},
	{"securityHub", []string{"EKSGUARD_SECURITY_HUB"}, "`on` imports every finding into Security Hub (BatchImportFindings into this account's default product) through the hub function; in organization mode a member account's findings into its own, through its remediation role (default off)"},
	{"slackActions", []string{"EKSGUARD_SLACK_ACTIONS"}, "`on` puts Apply fix and Expected change buttons on Slack messages and deploys the interaction function behind a function URL (default off; docs/slack-app.md)"},
	{"slackAppSecretArn", []string{"EKSGUARD_SLACK_APP_SECRET_ARN"}, "ARN of an existing secret holding the Slack app's signing secret and bot token, for slackActions (default: the stack creates an empty one)"},
}

// FunctionNames are the Lambda functions the stack deploys: one per event
// family (the CloudTrail ones, then kubernetes), then the Slack notifier.
func FunctionNames() []string {
	var names []string
	for _, f := range families.All() {
		names = append(names, f.Name)
	}
	return append(names, families.Kubernetes.Name, NotifierName)
}

// NotifierName is the Slack notifier function's name (functions/notifier).
const NotifierName = "notifier"

// Config is everything the stack is built from, resolved and validated.
type Config struct {
	StackName string
	// Account may be empty: the stack is then account-agnostic.
	Account string
	// Region is always concrete: it decides whether IAM events need forwarding.
	Region string
	// Policy is the validated policy and PolicyJSON its compact form for EKSGUARD_POLICY.
	Policy     *policy.Policy
	PolicyJSON string
	// Rules is the catalogue the grants are computed from (rules.All()).
	Rules               []rules.Rule
	SlackSecretARN      string
	AlertEmails         []string
	AlertHTTPSEndpoints []string
	// ClusterNames scope the EKS remediation permissions; empty means every cluster.
	ClusterNames []string
	// AuditLogClusters get the audit log subscription filter at deploy time.
	AuditLogClusters []string
	// ClusterRegions are where the iam function looks up cluster and node
	// roles; empty means the stack's region.
	ClusterRegions      []string
	ReservedConcurrency int
	LogRetentionDays    int
	// HeartbeatEvery is the canary's period, HeartbeatWindow how long
	// without a heartbeat heard raises the alarm.
	HeartbeatEvery, HeartbeatWindow time.Duration
	// ScanSchedule is when the scheduled scan runs (ScanOff: never).
	ScanSchedule string
	// AssetDir holds <function>/bootstrap for every function.
	AssetDir string
	// Org is the organization mode's settings; nil for a single account.
	Org *Org `json:",omitempty"`
	// SecurityHub deploys the hub function (setting securityHub).
	SecurityHub bool
	// SlackActions deploys the interaction function and puts the buttons on
	// Slack messages (setting slackActions); SlackAppSecretARN is its
	// existing secret, if any.
	SlackActions      bool
	SlackAppSecretARN string
}

// Lookup reads one setting: the context value if any, else the environment.
type Lookup func(s Setting) (string, error)

// AppLookup reads settings from the app's context (cdk.json, --context) and
// then from the environment.
func AppLookup(scope constructs.Construct, getenv func(string) string) Lookup {
	return func(s Setting) (string, error) {
		if v := scope.Node().TryGetContext(jsii.String(s.Context)); v != nil {
			return contextString(s.Context, v)
		}
		for _, name := range s.Env {
			if v := strings.TrimSpace(getenv(name)); v != "" {
				return v, nil
			}
		}
		return "", nil
	}
}

// contextString turns a context value (a string from --context, or any JSON
// value from cdk.json) into the comma-list form the settings use.
func contextString(key string, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	case []any:
		parts := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("context %s[%d]: want a string, got %v", key, i, e)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("context %s: want a string or a list of strings, got %T", key, v)
}

var (
	accountRE     = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	stackNameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,100}$`)
	clusterNameRE = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)
	emailRE       = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)
	secretARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`)
)

// logRetentions are the retention periods (days) the stack accepts.
var logRetentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// maxPolicyJSON bounds the inline policy: Lambda allows 4 KB of environment
// variables per function in total, and the other variables (ARNs, URLs, the
// loop-guard role list) need about 1 KB of it.
const maxPolicyJSON = 3000

// Resolve reads and validates every setting. Errors name the setting and
// where it came from; policy errors are the validator's own messages.
func Resolve(look Lookup) (Config, error) {
	get := func(key string) (string, error) {
		for _, s := range Settings {
			if s.Context == key {
				return look(s)
			}
		}
		panic("stack: unknown setting " + key)
	}
	var errs []string
	val := func(key string) string {
		v, err := get(key)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return v
	}
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("setting %s (context %s or $%s): %s", key, key, envOf(key), fmt.Sprintf(format, args...)))
	}

	cfg := Config{Rules: rules.All()}
	cfg.StackName = or(val("stackName"), "eksguard")
	if !stackNameRE.MatchString(cfg.StackName) {
		bad("stackName", "%q is not a CloudFormation stack name", cfg.StackName)
	}
	cfg.Account = val("account")
	if cfg.Account != "" && !accountRE.MatchString(cfg.Account) {
		bad("account", "%q is not a 12-digit account ID", cfg.Account)
	}
	cfg.Region = or(val("region"), "us-east-1")
	if !regionRE.MatchString(cfg.Region) {
		bad("region", "%q is not an AWS region name", cfg.Region)
	}

	cfg.Org = resolveOrg(cfg, val, bad)

	path := val("policyFile")
	if path == "" {
		cfg.Policy = policy.Default()
	} else {
		p, err := policy.Load(path, rules.IDs())
		if err != nil {
			errs = append(errs, fmt.Sprintf("invalid policy %s:\n    %s", path, strings.ReplaceAll(err.Error(), "\n", "\n    ")))
		}
		cfg.Policy = p
	}
	if cfg.Policy != nil {
		// The tamper rules guard the resources of this stack: the functions
		// read its name from the policy, which may state it only to agree.
		switch n := cfg.Policy.Self.StackName; {
		case n == "":
			cfg.Policy.Self.StackName = cfg.StackName
		case n != cfg.StackName:
			errs = append(errs, fmt.Sprintf("policy %s: self.stackName is %q, but the stack is %q; leave self.stackName out (the stack fills it in)", path, n, cfg.StackName))
		}
		orgPolicy(cfg)
		js, err := compactPolicy(cfg.Policy)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case len(js) > maxPolicyJSON:
			errs = append(errs, fmt.Sprintf("policy %s is %d bytes as JSON; Lambda allows 4 KB of environment per function, so keep it under %d bytes (shorten allow lists and patterns)", or(path, "built-in"), len(js), maxPolicyJSON))
		}
		cfg.PolicyJSON = js
	}

	cfg.SlackSecretARN = val("slackSecretArn")
	if cfg.SlackSecretARN != "" && !secretARNRE.MatchString(cfg.SlackSecretARN) {
		bad("slackSecretArn", "%q is not a Secrets Manager secret ARN", cfg.SlackSecretARN)
	}
	cfg.AlertEmails = list(val("alertEmails"))
	for _, e := range cfg.AlertEmails {
		if !emailRE.MatchString(e) {
			bad("alertEmails", "%q is not an e-mail address", e)
		}
	}
	cfg.AlertHTTPSEndpoints = list(val("alertHttpsEndpoints"))
	for _, u := range cfg.AlertHTTPSEndpoints {
		if !strings.HasPrefix(u, "https://") || len(u) <= len("https://") || strings.ContainsAny(u, " \t") {
			bad("alertHttpsEndpoints", "%q is not an https:// URL", u)
		}
	}
	cfg.ClusterNames = list(val("clusterNames"))
	for _, c := range cfg.ClusterNames {
		if !clusterNameRE.MatchString(c) {
			bad("clusterNames", "%q is not an EKS cluster name", c)
		}
	}

	cfg.AuditLogClusters = list(val("auditLogClusters"))
	for _, c := range cfg.AuditLogClusters {
		if !clusterNameRE.MatchString(c) {
			bad("auditLogClusters", "%q is not an EKS cluster name", c)
		}
	}
	cfg.ClusterRegions = list(val("clusterRegions"))
	for _, r := range cfg.ClusterRegions {
		if !regionRE.MatchString(r) {
			bad("clusterRegions", "%q is not an AWS region name", r)
		}
	}

	cfg.ReservedConcurrency = 5
	if s := val("reservedConcurrency"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			bad("reservedConcurrency", "%q: want a whole number from 1 to 1000", s)
		}
		cfg.ReservedConcurrency = n
	}
	cfg.LogRetentionDays = 90
	if s := val("logRetentionDays"); s != "" {
		n, err := strconv.Atoi(s)
		if _, ok := logRetentions[n]; err != nil || !ok {
			days := slices.Sorted(maps.Keys(logRetentions))
			bad("logRetentionDays", "%q: want one of the CloudWatch Logs periods %v", s, days)
		}
		cfg.LogRetentionDays = n
	}

	cfg.HeartbeatEvery, cfg.HeartbeatWindow = heartbeat.DefaultEvery, heartbeat.DefaultWindow
	if s := val("heartbeatMinutes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 720 {
			bad("heartbeatMinutes", "%q: want a whole number of minutes from 1 to 720", s)
		}
		cfg.HeartbeatEvery = time.Duration(n) * time.Minute
	}
	if s := val("heartbeatWindowMinutes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1440 {
			bad("heartbeatWindowMinutes", "%q: want a whole number of minutes from 1 to 1440", s)
		}
		cfg.HeartbeatWindow = time.Duration(n) * time.Minute
	}
	if cfg.HeartbeatWindow < 2*cfg.HeartbeatEvery {
		bad("heartbeatWindowMinutes", "%d minutes is less than twice heartbeatMinutes (%d): a window could pass without a beat while all is well",
			int(cfg.HeartbeatWindow/time.Minute), int(cfg.HeartbeatEvery/time.Minute))
	}

	cfg.SecurityHub = onOff(val("securityHub"), func(v string) { bad("securityHub", "%q: want on or off", v) })
	cfg.SlackActions = onOff(val("slackActions"), func(v string) { bad("slackActions", "%q: want on or off", v) })
	cfg.SlackAppSecretARN = val("slackAppSecretArn")
	if cfg.SlackAppSecretARN != "" && !secretARNRE.MatchString(cfg.SlackAppSecretARN) {
		bad("slackAppSecretArn", "%q is not a Secrets Manager secret ARN", cfg.SlackAppSecretARN)
	}
	if cfg.SlackAppSecretARN != "" && !cfg.SlackActions {
		bad("slackAppSecretArn", "is set but slackActions is off")
	}
	if cfg.SlackActions && cfg.Policy != nil && !cfg.Policy.HasApprovers() {
		bad("slackActions", "is on, but the policy's notify.slack.approvers names nobody, so every click would be refused (docs/slack-app.md)")
	}
	cfg.ScanSchedule = or(val("scanSchedule"), DefaultScanSchedule)
	if err := checkScanSchedule(cfg.ScanSchedule); err != nil {
		bad("scanSchedule", "%v", err)
	}

	cfg.AssetDir = or(val("assetDir"), "build")
	for _, fn := range cfg.DeployedFunctions() {
		boot := filepath.Join(cfg.AssetDir, fn, "bootstrap")
		if st, err := os.Stat(boot); err != nil || st.IsDir() {
			errs = append(errs, fmt.Sprintf("function %s: %s is missing; run `make build` first (or set assetDir)", fn, boot))
		}
	}

	if len(errs) > 0 {
		return Config{}, fmt.Errorf("eksguard configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return cfg, nil
}

// onOff reads an on/off setting (empty is off).
func onOff(v string, bad func(string)) bool {
	switch strings.ToLower(v) {
	case "", "off", "false":
		return false
	case "on", "true":
		return true
	}
	bad(v)
	return false
}

// DeployedFunctions are FunctionNames and the functions the settings add.
func (c Config) DeployedFunctions() []string {
	out := FunctionNames()
	if c.SecurityHub {
		out = append(out, HubName)
	}
	if c.SlackActions {
		out = append(out, InteractionName)
	}
	if c.ScanSchedule != ScanOff {
		out = append(out, ScanFunctionName)
	}
	return out
}

// InteractionName is the Slack interaction function's name (functions/interaction).
const InteractionName = slackaction.Name

// compactPolicy renders the validated policy (defaults applied) as compact
// JSON, which the functions read back with policy.ParseJSON.
func compactPolicy(p *policy.Policy) (string, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode policy %s: %w", p.Source(), err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("encode policy %s: %w", p.Source(), err)
	}
	return buf.String(), nil
}

func envOf(key string) string {
	for _, s := range Settings {
		if s.Context == key {
			return strings.Join(s.Env, " or $")
		}
	}
	return ""
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func or(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
