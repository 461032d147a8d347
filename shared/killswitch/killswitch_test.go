package killswitch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/killswitch"
)

func setup(t *testing.T) (*killswitch.Switch, *awsfake.World, *time.Time) {
	w := awsfake.New(t)
	client := ssm.NewFromConfig(awsfake.Config("eu-west-1"), func(o *ssm.Options) { o.BaseEndpoint = aws.String(w.SSM.URL) })
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	return &killswitch.Switch{SSM: client, Parameter: "/eksguard/remediation", Now: func() time.Time { return now }}, w, &now
}

func TestParameterTurnsRemediationOffWithinCacheTime(t *testing.T) {
	s, w, now := setup(t)
	ctx := context.Background()
	w.SSM.Set("/eksguard/remediation", "on")
	if st := s.State(ctx); st.Off {
		t.Fatalf("state = %+v, want on", st)
	}
	w.SSM.Set("/eksguard/remediation", "off")
	*now = now.Add(10 * time.Second)
	if st := s.State(ctx); st.Off {
		t.Fatal("cached value not used")
	}
	*now = now.Add(killswitch.DefaultCacheFor)
	st := s.State(ctx)
	if !st.Off || !strings.Contains(st.Reason, `/eksguard/remediation is "off"`) {
		t.Fatalf("state = %+v, want off", st)
	}
	if ops := w.Log.Ops(); len(ops) != 2 || ops[0] != "ssm:GetParameter" {
		t.Fatalf("ops = %v, want two reads", ops)
	}
	var body map[string]string
	w.Log.Calls()[0].JSON(t, &body)
	if body["Name"] != "/eksguard/remediation" {
		t.Fatalf("body = %v", body)
	}
}

func TestEnvironmentSwitchNeedsNoCall(t *testing.T) {
	s, w, _ := setup(t)
	s.EnvOff = true
	if st := s.State(context.Background()); !st.Off || !strings.Contains(st.Reason, "EKSGUARD_REMEDIATION") {
		t.Fatalf("state = %+v", st)
	}
	if n := len(w.Log.Calls()); n != 0 {
		t.Fatalf("%d calls, want none", n)
	}
}

func TestUnreadableParameterHoldsRemediationBack(t *testing.T) {
	s, _, _ := setup(t)
	// The parameter does not exist.
	st := s.State(context.Background())
	if !st.Off || !strings.Contains(st.Reason, "ParameterNotFound") {
		t.Fatalf("state = %+v", st)
	}
	s2, w2, _ := setup(t)
	w2.SSM.Fail("GetParameter", 1, awsfake.Fault{Status: 400, Code: "AccessDeniedException"})
	if st := s2.State(context.Background()); !st.Off || !strings.Contains(st.Reason, "AccessDeniedException") {
		t.Fatalf("state = %+v", st)
	}
}

func TestNoParameterMeansOn(t *testing.T) {
	s := &killswitch.Switch{}
	if st := s.State(context.Background()); st.Off {
		t.Fatalf("state = %+v", st)
	}
}
