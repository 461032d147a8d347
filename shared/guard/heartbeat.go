package guard

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/heartbeat"
	"github.com/eksguard/eksguard/shared/identity"
)

// Canary is the end-to-end heartbeat a family function receives: the
// canary role's PutParameter on the heartbeat parameter is recorded as
// heard; nothing else the canary role does reaches the rules.
type Canary struct {
	// Roles are the canary's role ARNs (globs allowed).
	Roles []string
	// Parameter is the heartbeat parameter (heartbeat.Parameter).
	Parameter string
	Recorder  *heartbeat.Recorder
}

// canary handles an event made by the canary role and reports whether it
// did; such an event goes no further (the loop guard for the canary).
func (g *Guard) canary(ctx context.Context, rec *cloudtrail.Record, log *slog.Logger) (bool, error) {
	c := g.Canary
	if c == nil || !(identity.Matches(c.Roles, rec.UserIdentity.ActorRole()) || identity.Matches(c.Roles, rec.UserIdentity.ARN)) {
		return false, nil
	}
	pp, ok := rec.Params.(*cloudtrail.ParameterParams)
	if rec.EventName != "PutParameter" || !ok || pp.Name != c.Parameter || rec.ErrorCode != "" {
		log.WarnContext(ctx, "event caused by the heartbeat canary that is not its heartbeat: not acted on",
			"outcome", finding.StatusIgnored, "actor", rec.UserIdentity.ActorRole(), "errorCode", rec.ErrorCode)
		return true, nil
	}
	b := heartbeat.Beat{Account: rec.Account(), Region: rec.AWSRegion, Heard: rec.EventTime.Time, EventID: rec.EventID}
	if err := c.Recorder.Record(ctx, b); err != nil {
		log.ErrorContext(ctx, "cannot record the heartbeat", "error", err)
		return true, fmt.Errorf("eksguard %s: %w", g.Family.Name, err)
	}
	log.InfoContext(ctx, "heartbeat heard", "account", b.Account, "region", b.Region, "heardAt", b.Heard)
	return true, nil
}
