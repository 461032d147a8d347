// Package killswitch decides whether eksguard may remediate at all. Two
// switches turn every remediation into a notification without a redeploy:
// the environment variable EKSGUARD_REMEDIATION=off, and an SSM parameter
// (named by EKSGUARD_KILL_SWITCH_PARAMETER) whose value is "off". The
// parameter is read at most once per CacheFor across warm invocations.
// When the parameter cannot be read, remediation is held back: a guardrail
// that cannot tell whether it was switched off must not act.
package killswitch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/shared/config"
)

// SSM is the part of the SSM client the switch uses.
type SSM interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ SSM = (*ssm.Client)(nil)

// DefaultCacheFor is how long a parameter value is trusted.
const DefaultCacheFor = 30 * time.Second

// Switch is the kill switch.
type Switch struct {
	// EnvOff is the environment switch (config.Settings.RemediationOff).
	EnvOff bool
	// SSM and Parameter name the parameter switch; without either, no
	// parameter is checked.
	SSM       SSM
	Parameter string
	// CacheFor is how long a read value is trusted (DefaultCacheFor when zero).
	CacheFor time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu      sync.Mutex
	cached  State
	readAt  time.Time
	hasRead bool
}

// State says whether remediation is off, and why.
type State struct {
	Off    bool
	Reason string
}

// State reads the switches.
func (s *Switch) State(ctx context.Context) State {
	if s.EnvOff {
		return State{Off: true, Reason: "EKSGUARD_REMEDIATION is off"}
	}
	if s.Parameter == "" || s.SSM == nil {
		return State{}
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	ttl := s.CacheFor
	if ttl <= 0 {
		ttl = DefaultCacheFor
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasRead && now.Sub(s.readAt) < ttl {
		return s.cached
	}
	s.cached = s.read(ctx)
	s.readAt, s.hasRead = now, true
	return s.cached
}

func (s *Switch) read(ctx context.Context) State {
	out, err := s.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.Parameter)})
	if err != nil {
		code := "error"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		return State{Off: true, Reason: fmt.Sprintf("kill switch parameter %s could not be read (%s), so remediation is held back", s.Parameter, code)}
	}
	if out.Parameter != nil && config.SwitchedOff(aws.ToString(out.Parameter.Value)) {
		return State{Off: true, Reason: fmt.Sprintf("SSM parameter %s is %q", s.Parameter, aws.ToString(out.Parameter.Value))}
	}
	return State{}
}
