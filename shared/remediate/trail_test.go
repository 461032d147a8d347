package remediate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/remediate"
)

func trailExecutor(w *awsfake.World) *remediate.Executor {
	cfg := awsfake.Config("eu-west-1")
	return &remediate.Executor{
		CloudTrail: cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(w.CloudTrail.URL) }),
	}
}

const trailARN = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events"

func startLoggingPlan() *finding.Plan {
	return &finding.Plan{Action: finding.ActionStartLogging, Trail: trailARN}
}

// A stopped trail is restarted, after GetTrailStatus says it is stopped.
func TestStartLoggingRestartsAStoppedTrail(t *testing.T) {
	w := awsfake.New(t)
	w.CloudTrail.PutTrail("management-events", false)
	a, err := trailExecutor(w).Prepare(context.Background(), "eu-west-1", startLoggingPlan(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Needed || a.Found != "trail "+trailARN+" is not logging" {
		t.Fatalf("needed %v, found %q; want needed, not logging", a.Needed, a.Found)
	}
	if want := `cloudtrail:StartLogging {"name":"` + trailARN + `"}`; a.Call != want {
		t.Errorf("call %s, want %s", a.Call, want)
	}
	if err := a.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if on, _ := w.CloudTrail.Logging("management-events"); !on {
		t.Error("the trail is still stopped after Apply")
	}
	if got := w.Log.Ops("cloudtrail"); len(got) != 2 || got[0] != "cloudtrail:GetTrailStatus" || got[1] != "cloudtrail:StartLogging" {
		t.Errorf("calls %v, want GetTrailStatus then StartLogging", got)
	}
}

// A trail restarted meanwhile is left alone.
func TestStartLoggingLeavesALoggingTrail(t *testing.T) {
	w := awsfake.New(t)
	w.CloudTrail.PutTrail("management-events", true)
	a, err := trailExecutor(w).Prepare(context.Background(), "eu-west-1", startLoggingPlan(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if a.Needed {
		t.Errorf("needed with the trail logging (found %q)", a.Found)
	}
	if got := w.Log.Ops("cloudtrail"); len(got) != 1 || got[0] != "cloudtrail:GetTrailStatus" {
		t.Errorf("calls %v, want only GetTrailStatus", got)
	}
}

// A trail deleted since cannot be restarted: that is for a person, not
// "already compliant".
func TestStartLoggingOnADeletedTrailIsUnsafe(t *testing.T) {
	w := awsfake.New(t)
	_, err := trailExecutor(w).Prepare(context.Background(), "eu-west-1", startLoggingPlan(), "tok")
	var unsafe *remediate.UnsafeError
	if !errors.As(err, &unsafe) || remediate.ErrorCode(err) != "UnsafeRemediation" {
		t.Fatalf("got %v, want an UnsafeError", err)
	}
	if _, err := (&remediate.Executor{}).Prepare(context.Background(), "eu-west-1", startLoggingPlan(), "tok"); remediate.ErrorCode(err) != "InvalidPlan" {
		t.Errorf("without a CloudTrail client: got %v, want InvalidPlan", err)
	}
}
