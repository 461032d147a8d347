//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/slackaction"
	"github.com/eksguard/eksguard/shared/slackalert"
	"github.com/eksguard/eksguard/shared/slackref"
)

const (
	slackSigningSecret = "e2e-signing-secret-0123456789abcdef"
	slackApprover      = "U0E2EAPPROVER"
)

// slack-apply-fix: a stack synthesized with slackActions on and a
// notify-only policy naming one approver; its interaction function runs
// under the emulator and gets function URL events (payload format 2.0,
// base64 body) as Slack would send them. Unsigned, wrongly signed and
// replayed requests get 401 and change nothing; the approver's Apply fix
// makes exactly the plan's calls, once, although they click twice, and the
// outcome is published with their name; every call is authorized by the
// role the template gives the function.
func scenarioSlackApplyFix(t *testing.T, s *stand) string {
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	doc := "version: 1\ndefaults:\n  mode: notify\nprincipals:\n  admins: [\"arn:aws:iam::111122223333:role/platform-admins\"]\n" +
		"notify:\n  slack:\n    approvers:\n      users: [" + slackApprover + "]\n"
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	buildDir := filepath.Join(s.root, "build")
	w := awsfake.New(t)
	d := loadDeployment(t, synth(t, s.root, pol, buildDir, "slackActions=on"), buildDir, w.SQS.URL)
	fn := d.Functions[slackaction.Name]
	if fn == nil {
		t.Fatalf("the stack synthesized with slackActions=on has no %s function: %v", slackaction.Name, sortedKeys(d.Functions))
	}

	// The account: the dev team holds cluster-admin; the notifier kept the
	// finding its message's buttons refer to; the app's secret is set.
	dev := "arn:aws:iam::111122223333:role/dev-team"
	admin := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	w.EKS.Put(awsfake.Cluster{Name: "payments-prod", Entries: map[string]*awsfake.AccessEntry{dev: {Policies: []string{admin}}}})
	w.SSM.Set(d.KillSwitch, d.KillSwitchValue)
	w.SecretsManager.Set(fn.Env["EKSGUARD_SLACK_SIGNING_SECRET_ARN"], `{"signingSecret":"`+slackSigningSecret+`"}`)
	f := &finding.Finding{
		Rule: "cluster-admin-granted", Severity: finding.Critical, Title: "Cluster-admin access granted to a non-admin principal",
		Summary: dev + " was granted AmazonEKSClusterAdminPolicy on cluster payments-prod", EventID: "e2e-slack-1", EventName: "AssociateAccessPolicy",
		EventTime: "2026-12-02T03:00:00Z", Account: account, Region: region, Cluster: "payments-prod", Principal: dev, Mode: finding.ModeNotify,
		Plan:    &finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "payments-prod", PrincipalARN: dev, PolicyARN: admin},
		Outcome: &finding.Outcome{Status: finding.StatusSkippedMode},
	}
	db := dynamodb.NewFromConfig(awsfake.Config(region), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	ref, err := (&slackref.Store{DB: db, Table: fn.Env["EKSGUARD_TABLE"]}).Put(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	// From here on, IAM is enforced: the function's calls are judged by its role's policy.
	if err := w.Enforce(principal(fn)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range w.Env() {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL_") || k == "AWS_EC2_METADATA_DISABLED" || k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE" {
			env[k] = v
		}
	}
	lf := startFunction(t, s.rie, s.launch, fn, env)

	click := func() string {
		p, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": slackApprover}, "team": map[string]any{"id": "T0E2E"},
			"trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/actions/T0E2E/1/e2e",
			"actions": []any{map[string]any{"action_id": slackalert.ActionApplyFix, "value": ref}},
		})
		return "payload=" + url.QueryEscape(string(p))
	}
	send := func(body, ts, sig string) int {
		req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
			Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}}
		req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.SourceIP = "POST", "/", "203.0.113.9"
		if ts != "" {
			req.Headers["x-slack-request-timestamp"] = ts
		}
		if sig != "" {
			req.Headers["x-slack-signature"] = sig
		}
		raw, _ := json.Marshal(req)
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(invoke(t, lf, raw), &resp); err != nil {
			t.Fatalf("the interaction function's answer is not a function URL response: %v", err)
		}
		return resp.StatusCode
	}
	body := click()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	good := slackaction.Sign([]byte(slackSigningSecret), now, []byte(body))
	stale := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	for name, c := range map[string]struct {
		ts, sig string
	}{
		"unsigned":      {"", ""},
		"wrong secret":  {now, slackaction.Sign([]byte("not the secret"), now, []byte(body))},
		"stale":         {stale, slackaction.Sign([]byte(slackSigningSecret), stale, []byte(body))},
		"tampered body": {now, slackaction.Sign([]byte(slackSigningSecret), now, []byte(body+"x"))},
	} {
		if got := send(body, c.ts, c.sig); got != 401 {
			t.Errorf("%s: got %d, want 401", name, got)
		}
	}
	if n := len(w.Log.Of("eks")); n != 0 {
		t.Fatalf("refused requests made %d EKS calls, want none", n)
	}
	if got := send(body, now, good); got != 200 {
		t.Fatalf("approver's Apply fix: got %d, want 200\n%s", got, lf.Output())
	}
	if got := send(body, now, good); got != 401 {
		t.Errorf("the same request again: got %d, want 401 (replay)", got)
	}
	// The second click is a new request.
	later := strconv.FormatInt(time.Now().Unix()+1, 10)
	if got := send(body, later, slackaction.Sign([]byte(slackSigningSecret), later, []byte(body))); got != 200 {
		t.Errorf("second click: got %d, want 200", got)
	}

	var calls []string
	for _, c := range w.Log.Of("eks") {
		calls = append(calls, c.Op)
	}
	if got := strings.Join(calls, ","); got != "ListAssociatedAccessPolicies,DisassociateAccessPolicy" {
		t.Errorf("EKS calls: got %s, want the pre-check and the fix, once", got)
	}
	if c, _ := w.EKS.Get("payments-prod"); len(c.Entries[dev].Policies) != 0 {
		t.Errorf("after the fix %s still holds %v", dev, c.Entries[dev].Policies)
	}
	pubs := w.SNS.Published()
	if len(pubs) != 1 {
		t.Fatalf("published %d messages, want the outcome once", len(pubs))
	}
	out, err := notify.DecodeMessage(pubs[0].Message)
	if err != nil || out.ApprovedBy != slackApprover || out.Outcome == nil || out.Outcome.Status != finding.StatusRemediated {
		t.Errorf("published %+v (%v), want remediated, approved by %s", out, err, slackApprover)
	}
	for _, a := range w.Denied() {
		t.Errorf("IAM denied a call the stack should grant: %s", a)
	}
	if o := lf.Output(); strings.Contains(o, slackSigningSecret) || strings.Contains(o, "payload=") || strings.Contains(o, "hooks.slack.com/actions/T0E2E") {
		t.Error("the interaction function logged the signing secret, the payload or the response_url")
	}
	return fmt.Sprintf("4 bad requests 401, replay 401; Apply fix clicked twice: %s once, published with approvedBy %s; %d calls authorized",
		finding.ActionDisassociateAccessPolicy, slackApprover, len(w.Authorizations()))
}
