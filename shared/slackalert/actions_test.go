package slackalert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/slackref"
)

func actionButtons(post map[string]any) []map[string]any {
	blocks, _ := post["blocks"].([]any)
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		if m["type"] == "actions" && m["block_id"] == ActionsBlockID {
			var out []map[string]any
			for _, e := range m["elements"].([]any) {
				out = append(out, e.(map[string]any))
			}
			return out
		}
	}
	return nil
}

func TestNotifierPutsButtonsOnActionableFindings(t *testing.T) {
	r := newRig(t, policy.Default())
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(r.aws.DynamoDB.URL) })
	store := &slackref.Store{DB: db, Table: "eksguard-state", Now: func() time.Time { return *r.clock }}
	r.n.Actions = store

	notified := findingtest.AdminFinding()
	notified.Outcome = &finding.Outcome{Status: finding.StatusSkippedMode, Message: "notify mode"}
	if err := r.deliver(t, notified, "m1", "json"); err != nil {
		t.Fatal(err)
	}
	fixed := findingtest.LoggingFinding() // remediated: nothing to click
	if err := r.deliver(t, fixed, "m2", "json"); err != nil {
		t.Fatal(err)
	}
	posts := r.hook.received()
	if len(posts) != 2 {
		t.Fatalf("got %d posts, want 2", len(posts))
	}
	buttons := actionButtons(posts[0])
	if len(buttons) != 2 || buttons[0]["action_id"] != ActionApplyFix || buttons[1]["action_id"] != ActionExpectedChange {
		t.Fatalf("notify-mode finding: got buttons %v, want Apply fix and Expected change", buttons)
	}
	ref := slackref.Ref(notified)
	if buttons[0]["value"] != ref || buttons[1]["value"] != ref {
		t.Errorf("button values: got %v and %v, want the reference %s", buttons[0]["value"], buttons[1]["value"], ref)
	}
	confirm, _ := buttons[0]["confirm"].(map[string]any)
	text, _ := confirm["text"].(map[string]any)
	if cli := notified.Plan.CLI(notified.Region); !strings.Contains(text["text"].(string), cli) {
		t.Errorf("confirm dialog: got %v, want the exact call %s", text["text"], cli)
	}
	kept, err := store.Get(context.Background(), ref)
	if err != nil || kept.Plan == nil || kept.Plan.Action != notified.Plan.Action || kept.EventID != notified.EventID {
		t.Errorf("kept finding: got %+v, %v; want the notified finding with its plan", kept, err)
	}
	if b := actionButtons(posts[1]); b != nil {
		t.Errorf("remediated finding: got buttons %v, want none", b)
	}
}

func TestConfirmTextFitsTheDialog(t *testing.T) {
	f := findingtest.AdminFinding()
	f.Plan.Cluster = strings.Repeat("c", 100)
	f.Plan.PrincipalARN = "arn:aws:iam::111122223333:role/" + strings.Repeat("r", 64)
	got := ConfirmText(f)
	if n := len([]rune(got)); n > maxConfirmText {
		t.Errorf("got %d characters, want at most %d", n, maxConfirmText)
	}
	if !strings.Contains(got, f.Plan.Action) {
		t.Errorf("got %q, want the API action %s when the command does not fit", got, f.Plan.Action)
	}
}
