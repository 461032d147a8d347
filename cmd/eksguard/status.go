package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	ctapi "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
)

// The AWS calls `eksguard status` makes, as the SDK clients declare them.
type (
	trailAPI interface {
		DescribeTrails(ctx context.Context, params *ctapi.DescribeTrailsInput, optFns ...func(*ctapi.Options)) (*ctapi.DescribeTrailsOutput, error)
		GetTrailStatus(ctx context.Context, params *ctapi.GetTrailStatusInput, optFns ...func(*ctapi.Options)) (*ctapi.GetTrailStatusOutput, error)
		GetEventSelectors(ctx context.Context, params *ctapi.GetEventSelectorsInput, optFns ...func(*ctapi.Options)) (*ctapi.GetEventSelectorsOutput, error)
	}
	ruleAPI interface {
		ListRules(ctx context.Context, params *eventbridge.ListRulesInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	}
	functionAPI interface {
		ListFunctions(ctx context.Context, params *lambda.ListFunctionsInput, optFns ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error)
		GetFunctionConcurrency(ctx context.Context, params *lambda.GetFunctionConcurrencyInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
	}
	parameterAPI interface {
		GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	}
)

// watch is what status reads in one region.
type watch struct {
	Stack, Region string
	// Account, when empty, is read from the ARNs of eksguard's rules.
	Account string
	Window  time.Duration
	Now     func() time.Time

	Trails    trailAPI
	Rules     ruleAPI
	Functions functionAPI
	Table     heartbeat.Reader
	SSM       parameterAPI
}

// check is one line of the status screen.
type check struct {
	What   string
	OK     bool
	Detail string
}

func (c check) mark() string {
	if c.OK {
		return "ok"
	}
	return "OFF"
}

// run reads everything and returns the checks in screen order.
func (w *watch) run(ctx context.Context) []check {
	var out []check
	out = append(out, w.trail(ctx))
	rules, account := w.rules(ctx)
	out = append(out, rules)
	if w.Account == "" {
		w.Account = account
	}
	fns, env := w.functions(ctx)
	out = append(out, fns)
	out = append(out, w.heartbeat(ctx, env[config.EnvTable]), w.killSwitch(ctx, env[config.EnvKillSwitchParameter]))
	return out
}

// trail: some trail that covers this region is logging and records
// management write events.
func (w *watch) trail(ctx context.Context) check {
	c := check{What: "trail"}
	out, err := w.Trails.DescribeTrails(ctx, &ctapi.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		c.Detail = fmt.Sprintf("cannot list trails: %v", err)
		return c
	}
	var notes []string
	for _, t := range out.TrailList {
		name := aws.ToString(t.Name)
		if !aws.ToBool(t.IsMultiRegionTrail) && aws.ToString(t.HomeRegion) != w.Region {
			continue
		}
		var problems []string
		st, err := w.Trails.GetTrailStatus(ctx, &ctapi.GetTrailStatusInput{Name: t.TrailARN})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("cannot read its status: %v", err))
		case !aws.ToBool(st.IsLogging):
			problems = append(problems, "not logging")
		}
		if !aws.ToBool(t.IsMultiRegionTrail) {
			problems = append(problems, "single-region")
		}
		sel, err := w.Trails.GetEventSelectors(ctx, &ctapi.GetEventSelectorsInput{TrailName: t.TrailARN})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("cannot read its event selectors: %v", err))
		case !managementWrites(sel):
			problems = append(problems, "management write events not selected")
		}
		if len(problems) == 0 {
			c.OK = true
			notes = append(notes, name+": logging, multi-region, management writes")
			continue
		}
		notes = append(notes, name+": "+strings.Join(problems, ", "))
	}
	if len(notes) == 0 {
		c.Detail = "no trail records this region"
		return c
	}
	c.Detail = strings.Join(notes, "; ")
	return c
}

// managementWrites converts the SDK's selectors and judges them as the
// trail-logging-stopped rule does.
func managementWrites(out *ctapi.GetEventSelectorsOutput) bool {
	if len(out.AdvancedEventSelectors) > 0 {
		sel := make([]cloudtrail.AdvancedEventSelector, 0, len(out.AdvancedEventSelectors))
		for _, a := range out.AdvancedEventSelectors {
			s := cloudtrail.AdvancedEventSelector{Name: aws.ToString(a.Name)}
			for _, f := range a.FieldSelectors {
				s.FieldSelectors = append(s.FieldSelectors, cloudtrail.AdvancedFieldSelector{Field: aws.ToString(f.Field), Equals: f.Equals, NotEquals: f.NotEquals})
			}
			sel = append(sel, s)
		}
		return cloudtrail.SelectsAdvancedManagementWrites(sel)
	}
	sel := make([]cloudtrail.EventSelector, 0, len(out.EventSelectors))
	for _, e := range out.EventSelectors {
		s := cloudtrail.EventSelector{ReadWriteType: string(e.ReadWriteType)}
		if e.IncludeManagementEvents != nil {
			b := cloudtrail.Bool(*e.IncludeManagementEvents)
			s.IncludeManagementEvents = &b
		}
		sel = append(sel, s)
	}
	return cloudtrail.SelectsManagementWrites(sel)
}

// rules: one enabled rule per family, named after the stack.
func (w *watch) rules(ctx context.Context) (check, string) {
	c := check{What: "rules"}
	var rules []ebtypes.Rule
	in := &eventbridge.ListRulesInput{NamePrefix: aws.String(w.Stack + "-")}
	for {
		out, err := w.Rules.ListRules(ctx, in)
		if err != nil {
			c.Detail = fmt.Sprintf("cannot list EventBridge rules %s-*: %v", w.Stack, err)
			return c, ""
		}
		rules = append(rules, out.Rules...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	account := ""
	var off, missing []string
	for _, fam := range families.All() {
		i := slices.IndexFunc(rules, func(r ebtypes.Rule) bool {
			return strings.HasPrefix(aws.ToString(r.Name), w.Stack+"-"+title(fam.Name)+"Rule")
		})
		if i < 0 {
			missing = append(missing, fam.Name)
			continue
		}
		if a, err := awsarn.Parse(aws.ToString(rules[i].Arn)); err == nil && account == "" {
			account = a.AccountID
		}
		if rules[i].State != ebtypes.RuleStateEnabled {
			off = append(off, aws.ToString(rules[i].Name)+" "+string(rules[i].State))
		}
	}
	c.OK = len(off) == 0 && len(missing) == 0
	switch {
	case c.OK:
		c.Detail = fmt.Sprintf("%d of %d enabled", len(families.All()), len(families.All()))
	default:
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "no rule for "+strings.Join(missing, ", "))
		}
		parts = append(parts, off...)
		c.Detail = strings.Join(parts, "; ")
	}
	return c, account
}

// functions: every function deployed, none with reserved concurrency 0.
// It returns the environment of the function that hears the heartbeat
// (table and kill switch names).
func (w *watch) functions(ctx context.Context) (check, map[string]string) {
	c := check{What: "functions"}
	env := map[string]string{}
	names := map[string]string{} // function -> deployed name
	in := &lambda.ListFunctionsInput{}
	for {
		out, err := w.Functions.ListFunctions(ctx, in)
		if err != nil {
			c.Detail = fmt.Sprintf("cannot list functions: %v", err)
			return c, env
		}
		for _, f := range out.Functions {
			name := aws.ToString(f.FunctionName)
			for _, fn := range statusFunctions() {
				if strings.HasPrefix(name, w.Stack+"-"+title(fn)+"Function") {
					names[fn] = name
					if f.Environment != nil && f.Environment.Variables[config.EnvCanaryRoleARN] != "" {
						env = f.Environment.Variables
					}
				}
			}
		}
		if aws.ToString(out.NextMarker) == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	var problems []string
	for _, fn := range statusFunctions() {
		name, ok := names[fn]
		if !ok {
			problems = append(problems, fn+" not deployed")
			continue
		}
		out, err := w.Functions.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: cannot read its concurrency: %v", fn, err))
		case out.ReservedConcurrentExecutions != nil && *out.ReservedConcurrentExecutions == 0:
			problems = append(problems, fn+": reserved concurrency 0, it does not run")
		}
	}
	c.OK = len(problems) == 0
	c.Detail = fmt.Sprintf("%d of %d deployed, all may run", len(names), len(statusFunctions()))
	if !c.OK {
		c.Detail = strings.Join(problems, "; ")
	}
	return c, env
}

// statusFunctions are the functions the stack deploys (infra/stack.FunctionNames).
func statusFunctions() []string {
	var out []string
	for _, f := range families.All() {
		out = append(out, f.Name)
	}
	return append(out, families.Kubernetes.Name, "notifier")
}

func (w *watch) heartbeat(ctx context.Context, table string) check {
	c := check{What: "heartbeat"}
	switch {
	case table == "":
		c.Detail = "no deployed function hears the heartbeat; cannot find the table"
		return c
	case w.Account == "":
		c.Detail = "account unknown (no eksguard rule to read it from; pass --account)"
		return c
	}
	last, err := heartbeat.Last(ctx, w.Table, table, w.Account, w.Region)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	now := w.Now()
	c.OK = heartbeat.Judge(last, now, w.Window) == heartbeat.Hearing
	c.Detail = heartbeat.Describe(last, w.Account, w.Region, now, w.Window)
	return c
}

// killSwitch is shown, and is ok either way: off stops the fixes, not the
// watching. Only a switch that cannot be read is off, as the functions
// then hold remediation back.
func (w *watch) killSwitch(ctx context.Context, name string) check {
	c := check{What: "kill switch"}
	if name == "" {
		c.Detail = "no deployed function names its kill switch parameter"
		return c
	}
	out, err := w.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		c.Detail = fmt.Sprintf("cannot read %s (remediation is held back): %v", name, err)
		return c
	}
	v := aws.ToString(out.Parameter.Value)
	c.OK = true
	c.Detail = fmt.Sprintf("%s = %s: remediation allowed where the policy says remediate", name, v)
	if config.SwitchedOff(v) {
		c.Detail = fmt.Sprintf("%s = %s: remediation switched off, findings only", name, v)
	}
	return c
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// print writes the screen and reports whether everything is ok.
func printStatus(out io.Writer, w *watch, checks []check) bool {
	account := w.Account
	if account == "" {
		account = "unknown"
	}
	fmt.Fprintf(out, "eksguard %s, account %s, region %s\n", w.Stack, account, w.Region)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	ok := true
	var off []string
	for _, c := range checks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.mark(), c.What, c.Detail)
		if !c.OK {
			ok = false
			off = append(off, c.What)
		}
	}
	tw.Flush()
	if ok {
		fmt.Fprintf(out, "eksguard is watching account %s region %s\n", account, w.Region)
	} else {
		fmt.Fprintf(out, "eksguard is NOT watching account %s region %s: %s\n", account, w.Region, strings.Join(off, ", "))
	}
	return ok
}

// statusCmd is `eksguard status`: 0 when eksguard is watching in every
// region asked, 1 when something is off, 2 for bad usage or no AWS
// configuration.
func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := newFlagSet("eksguard status", stderr)
	stack := fs.String("stack", "eksguard", "the stack name eksguard was deployed with")
	account := fs.String("account", "", "the account, when it cannot be read from eksguard's rules")
	window := fs.Duration("window", heartbeat.DefaultWindow, "how old the last heartbeat may be (the stack's heartbeatWindowMinutes)")
	var regions stringList
	fs.Var(&regions, "region", "region to check (repeatable; default: the SDK's region)")
	if rest, err := parseInterleaved(fs, args); err != nil || len(rest) > 0 {
		if err == nil {
			fmt.Fprintf(stderr, "eksguard status: unexpected arguments %v\n", rest)
		}
		return 2
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard status: load the AWS configuration: %v\n", err)
		return 2
	}
	if len(regions) == 0 {
		if cfg.Region == "" {
			fmt.Fprintln(stderr, "eksguard status: no region: set AWS_REGION or pass --region")
			return 2
		}
		regions = stringList{cfg.Region}
	}
	code := 0
	for i, region := range regions {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		rc := cfg.Copy()
		rc.Region = region
		w := &watch{
			Stack: *stack, Region: region, Account: *account, Window: *window, Now: now,
			Trails: ctapi.NewFromConfig(rc), Rules: eventbridge.NewFromConfig(rc), Functions: lambda.NewFromConfig(rc),
			Table: dynamodb.NewFromConfig(rc), SSM: ssm.NewFromConfig(rc),
		}
		if !printStatus(stdout, w, w.run(ctx)) {
			code = 1
		}
	}
	return code
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*l = append(*l, v)
	return nil
}
