package remediate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/eksguard/eksguard/shared/finding"
)

// CloudTrail is the part of the CloudTrail client remediation uses.
type CloudTrail interface {
	GetTrailStatus(ctx context.Context, params *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	StartLogging(ctx context.Context, params *cloudtrail.StartLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
}

var _ CloudTrail = (*cloudtrail.Client)(nil)

// startLogging restarts a stopped trail, only while GetTrailStatus says it
// is not logging. A trail that no longer exists cannot be restarted: that
// is held for a person (UnsafeError), not reported as fixed. The calls go to
// the finding's region: trails are stopped and started in their home region.
func startLogging(ctx context.Context, c CloudTrail, region string, p *finding.Plan) (*Action, error) {
	inRegion := func(o *cloudtrail.Options) {
		if region != "" {
			o.Region = region
		}
	}
	st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(p.Trail)}, inRegion)
	if ErrorCode(err) == "TrailNotFoundException" {
		return nil, &UnsafeError{fmt.Sprintf("trail %s no longer exists, so it cannot be restarted: %v", p.Trail, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("get status of trail %s: %w", p.Trail, err)
	}
	if aws.ToBool(st.IsLogging) {
		return compliant("trail %s is logging", p.Trail), nil
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("trail %s is not logging", p.Trail),
		Call:   call(p.Action, map[string]string{"name": p.Trail}),
		apply: func(ctx context.Context) error {
			if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(p.Trail)}, inRegion); err != nil {
				return fmt.Errorf("start logging on trail %s: %w", p.Trail, err)
			}
			return nil
		},
	}, nil
}
