package guard_test

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	marktable "github.com/eksguard/eksguard/shared/correlation/table"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

func funcPtr(f any) uintptr { return reflect.ValueOf(f).Pointer() }

func TestNewFillsTheDefaults(t *testing.T) {
	s := config.Settings{Policy: policy.Default(), Table: table, TopicARN: topic}
	g, err := guard.New(awsfake.Config("eu-west-1"), families.Access, s)
	if err != nil {
		t.Fatal(err)
	}
	if g.Log != slog.Default() {
		t.Errorf("Log = %v, want slog.Default()", g.Log)
	}
	if g.Assess == nil || funcPtr(g.Assess) != funcPtr(rules.Assess) {
		t.Errorf("Assess is not rules.Assess")
	}
	pub, ok := g.Publisher.(*notify.SNSPublisher)
	if !ok || pub.TopicARN != topic || pub.Policy != s.Policy || pub.SNS == nil {
		t.Errorf("Publisher = %#v, want an SNS publisher to %s with the settings' policy", g.Publisher, topic)
	}
	if g.Defer != nil || g.Kill.SSM != nil || g.Roles != nil {
		t.Errorf("Defer %v, kill switch SSM %v, Roles %v: want none without their settings", g.Defer, g.Kill.SSM, g.Roles)
	}
	if g.Events.Table != table || g.Breaker.Table != table || g.Breaker.Max != s.Policy.Remediation.MaxPerResourcePerHour {
		t.Errorf("idempotency table %q, breaker table %q max %d", g.Events.Table, g.Breaker.Table, g.Breaker.Max)
	}

	// The iam function looks up roles in its own region unless told otherwise.
	g, err = guard.New(awsfake.Config("eu-west-1"), families.IAM, s)
	if err != nil {
		t.Fatal(err)
	}
	if g.Roles == nil || !reflect.DeepEqual(g.Roles.Regions, []string{"eu-west-1"}) {
		t.Errorf("iam Roles = %+v, want a lookup in eu-west-1", g.Roles)
	}
	// Only the access function, which is routed the grants and removals,
	// keeps correlation marks, in the table.
	if g.Marks != nil {
		t.Errorf("iam Marks = %#v, want none", g.Marks)
	}
	g, err = guard.New(awsfake.Config("eu-west-1"), families.Access, s)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := g.Marks.(*marktable.Store); !ok || m.Table != table || m.DB == nil {
		t.Errorf("access Marks = %#v, want a table store on %s", g.Marks, table)
	}
}

func TestNewTakesTheOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	assess := func(*cloudtrail.Record, *policy.Policy) []finding.Finding { return nil }
	pub := &notify.SNSPublisher{TopicARN: "arn:aws:sns:eu-west-1:111122223333:other"}
	s := config.Settings{Policy: policy.Default(), Table: table, TopicARN: topic, DeferQueueURL: "https://sqs.example/q", KillSwitchParameter: killParam}
	g, err := guard.New(awsfake.Config("eu-west-1"), families.Cluster, s, func(o *guard.Options) {
		o.Log, o.Assess, o.Publisher = log, assess, pub
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Log != log || funcPtr(g.Assess) != funcPtr(assess) || g.Publisher != guard.Publisher(pub) {
		t.Errorf("got Log %v, Publisher %v; want the options' own", g.Log, g.Publisher)
	}
	if g.Defer == nil || g.Defer.URL != s.DeferQueueURL || g.Kill.SSM == nil || g.Kill.Parameter != killParam {
		t.Errorf("Defer %+v, kill switch %+v: want the settings' queue and parameter", g.Defer, g.Kill)
	}
}

func TestNewNeedsAPolicy(t *testing.T) {
	_, err := guard.New(aws.Config{Region: "eu-west-1"}, families.Access, config.Settings{Table: table, TopicARN: topic})
	if err == nil || !strings.Contains(err.Error(), "no policy") {
		t.Errorf("got %v, want an error saying the settings hold no policy", err)
	}
}

// A family function does not start without its table and topic.
func TestFromEnvNamesWhatIsMissing(t *testing.T) {
	for _, n := range config.Names {
		t.Setenv(n.Name, "")
	}
	_, err := guard.FromEnv(context.Background(), families.Access, slog.New(slog.DiscardHandler))
	for _, want := range []string{config.EnvTable + " is not set", config.EnvTopicARN + " is not set"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
}
