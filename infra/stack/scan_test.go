package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/scan"
)

func TestScanReadGrantsCoverTheReader(t *testing.T) {
	stmts, err := ScanReadGrants([]string{"eu-west-1", "eu-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]int{}
	for _, s := range stmts {
		for _, a := range s.Actions {
			granted[a]++
			if strings.HasSuffix(a, "*") || (a != "eks:ListClusters" && slices.Contains(s.Resources, "*")) {
				t.Errorf("%s: %s on %v, want a named action on scoped resources", s.Sid, a, s.Resources)
			}
		}
		for _, r := range s.Resources {
			if strings.HasPrefix(r, "arn:${AWS::Partition}:eks:") && !strings.Contains(r, ":eu-west-1:") && !strings.Contains(r, ":eu-central-1:") {
				t.Errorf("%s: resource %s is outside the cluster regions", s.Sid, r)
			}
			if strings.HasPrefix(r, "arn:${AWS::Partition}:iam:") && r != accountRoles {
				t.Errorf("%s: resource %s, want this account's roles", s.Sid, r)
			}
		}
	}
	for _, a := range scan.Actions() {
		if granted[a] != 1 {
			t.Errorf("%s: granted %d times, want once (the reader calls it)", a, granted[a])
		}
		delete(granted, a)
	}
	for a := range granted {
		t.Errorf("%s: granted, but the reader does not call it", a)
	}
	for _, s := range stmts {
		for _, a := range s.Actions {
			if !strings.HasPrefix(a, "eks:List") && !strings.HasPrefix(a, "eks:Describe") && !strings.HasPrefix(a, "iam:List") && !strings.HasPrefix(a, "iam:Get") {
				t.Errorf("%s: %s is not a read", s.Sid, a)
			}
		}
	}
}

func TestScanRemediationGrantsFollowScanRemediate(t *testing.T) {
	parse := func(doc string) *policy.Policy {
		p, err := policy.Parse([]byte(doc), "p.yaml", rules.IDs())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := ScanRemediationActions(parse("version: 1\ndefaults: {mode: remediate}\nprincipals: {admins: [\"arn:aws:iam::111122223333:role/a\"]}\n"), rules.All()); len(got) != 0 {
		t.Errorf("event rules in remediate mode: got scan fix actions %v, want none (scan.remediate is empty)", got)
	}
	p := parse("version: 1\nscan: {remediate: [control-plane-logging-disabled, admin-policy-attached-to-eks-role]}\n")
	if got, want := ScanRemediationActions(p, rules.All()), []string{finding.ActionUpdateClusterConfig, finding.ActionDetachRolePolicy}; !sameStrings(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	stmts, err := ScanRemediationGrants(p, rules.All(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, s := range stmts {
		actions = append(actions, s.Actions...)
	}
	for _, want := range []string{"eks:UpdateClusterConfig", "eks:DescribeCluster", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"} {
		if !slices.Contains(actions, want) {
			t.Errorf("got actions %v, want %s among them", actions, want)
		}
	}
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestCheckScanSchedule(t *testing.T) {
	for _, s := range []string{"off", "rate(1 day)", "rate(6 hours)", "rate(30 minutes)", "cron(0 3 * * ? *)"} {
		if err := checkScanSchedule(s); err != nil {
			t.Errorf("%q: got %v, want accepted", s, err)
		}
	}
	for _, s := range []string{"daily", "rate(0 hours)", "rate(1 fortnight)", "cron()", "OFF"} {
		if err := checkScanSchedule(s); err == nil {
			t.Errorf("%q: got accepted, want an error", s)
		}
	}
}

// The default fixture deploys the scan daily, read-only, with its input.
func TestScanFunctionAndSchedule(t *testing.T) {
	s := fixture(t, "us-notify")
	fnID := s.functionID(ScanFunctionName)
	fn := s.mainJSON.resource(fnID)
	props, _ := fn["Properties"].(map[string]any)
	if at(props, "Timeout") != float64(scanTimeoutSeconds) {
		t.Errorf("scan function timeout: got %v, want %d", at(props, "Timeout"), scanTimeoutSeconds)
	}
	vars, _ := at(props, "Environment", "Variables").(map[string]any)
	for _, v := range []string{config.EnvPolicy, config.EnvTable, config.EnvTopicARN, config.EnvKillSwitchParameter} {
		if vars[v] == nil {
			t.Errorf("scan function environment: got no %s", v)
		}
	}
	scheds := s.mainJSON.resources("AWS::Scheduler::Schedule")
	var found bool
	for _, sc := range scheds {
		if getAtt(at(sc, "Target", "Arn"), "Arn") != fnID {
			continue
		}
		found = true
		if sc["ScheduleExpression"] != DefaultScanSchedule {
			t.Errorf("schedule: got %v, want %s", sc["ScheduleExpression"], DefaultScanSchedule)
		}
		input := canonical(t, at(sc, "Target", "Input"))
		if !strings.Contains(input, `\"scheduledTime\":\"\u003caws.scheduler.scheduled-time\u003e\"`) && !strings.Contains(input, `\"scheduledTime\":\"<aws.scheduler.scheduled-time>\"`) {
			t.Errorf("schedule input: got %s, want the scheduled-time context attribute", input)
		}
		if !strings.Contains(input, "${AWS::AccountId}") {
			t.Errorf("schedule input: got %s, want the account", input)
		}
	}
	if !found {
		t.Fatalf("got no schedule targeting the scan function among %d schedules", len(scheds))
	}
	// Its IAM: the read grants and no write (the notify-only policy has no scan.remediate).
	roleID := getAtt(at(props, "Role"), "Arn")
	var actions []string
	for _, p := range s.mainJSON.resources("AWS::IAM::Policy") {
		attached := false
		for _, r := range at(p, "Roles").([]any) {
			if ref(r) == roleID {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, st := range at(p, "PolicyDocument", "Statement").([]any) {
			switch a := at(st, "Action").(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, x.(string))
				}
			}
		}
	}
	for _, a := range scan.Actions() {
		if !slices.Contains(actions, a) {
			t.Errorf("scan role: got no %s", a)
		}
	}
	for _, a := range actions {
		if strings.HasPrefix(a, "eks:") && !strings.HasPrefix(a, "eks:List") && !strings.HasPrefix(a, "eks:Describe") {
			t.Errorf("scan role: got write action %s under a notify-only policy", a)
		}
		if strings.HasPrefix(a, "iam:") && !slices.Contains(scan.Actions(), a) {
			t.Errorf("scan role: got %s, which the reader does not call", a)
		}
	}
}

func TestScanOff(t *testing.T) {
	app := newApp(t, map[string]string{"assetDir": fakeAssets(t), "region": "us-east-1", "scanSchedule": "off"})
	cfg, err := Resolve(AppLookup(app, func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := New(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dep.Functions[ScanFunctionName]; ok {
		t.Errorf("scanSchedule=off: got a scan function, want none")
	}
	if child := dep.Main.Node().TryFindChild(jsii.String("Scan")); child != nil {
		t.Errorf("scanSchedule=off: got a Scan schedule, want none")
	}
}
