package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// HandleLogs is the Lambda handler of the kubernetes function: a CloudWatch
// Logs subscription's event ({"awslogs":{"data":...}}) from an EKS
// cluster's audit log. Each audit event some rule reads is assessed; one
// with findings goes through the same claim, outcome and publish path as
// a CloudTrail event (deliver), keyed by its cluster and auditID, so a
// redelivered payload publishes nothing twice. A CONTROL_MESSAGE
// (CloudWatch Logs checking the destination) is acknowledged.
//
// It returns an error, so that Lambda retries the payload and then hands it
// to the function's failure destination, for a payload that does not
// decode, one from a log group or stream that is not an EKS audit log, a log
// event that is not an audit event (after the others are handled), and a
// finding that could not be published.
func (g *Guard) HandleLogs(ctx context.Context, raw json.RawMessage) error {
	sub, err := k8saudit.DecodeLambdaEvent(raw)
	if err != nil {
		g.log().ErrorContext(ctx, "cannot decode the subscription payload", "function", g.Family.Name, "error", err)
		return fmt.Errorf("eksguard %s: %w", g.Family.Name, err)
	}
	if sub.MessageType == k8saudit.ControlMessage {
		g.log().InfoContext(ctx, "CloudWatch Logs control message", "function", g.Family.Name)
		return nil
	}
	cluster := k8saudit.Cluster(sub.LogGroup)
	if cluster == "" || !k8saudit.AuditStream(sub.LogStream) {
		err := fmt.Errorf("eksguard %s: log group %s stream %s is not an EKS cluster's audit log (/aws/eks/<cluster>/cluster, kube-apiserver-audit-*); check the subscription filter",
			g.Family.Name, sub.LogGroup, sub.LogStream)
		g.log().ErrorContext(ctx, "misrouted log events", "error", err)
		return err
	}
	evs, decodeErr := sub.Events(g.Region)
	// The log group's owner is the account the cluster runs in: in an
	// organization deployment, its overrides and display name apply.
	pol := g.Policy.For(sub.Owner)
	var errs []error
	for _, ev := range evs {
		log := g.log().With("auditID", ev.AuditID, "cluster", ev.Cluster, "verb", ev.Verb, "object", ev.Object(), "function", g.Family.Name)
		fs, err := g.assessAudit(ev, pol)
		if err != nil {
			log.ErrorContext(ctx, "rule evaluation panicked", "error", err)
			errs = append(errs, err)
			continue
		}
		if len(fs) == 0 {
			log.InfoContext(ctx, "event handled", "findings", 0)
			continue
		}
		for i := range fs {
			fs[i].AccountName = pol.AccountName(fs[i].Account)
		}
		if _, err := g.deliver(ctx, "k8s/"+ev.Cluster+"/"+ev.AuditID, fs, pol, g.clientsFor(sub.Owner), log); err != nil {
			errs = append(errs, err)
		}
	}
	if decodeErr != nil {
		g.log().ErrorContext(ctx, "log events that are not audit events", "function", g.Family.Name, "error", decodeErr)
		errs = append(errs, fmt.Errorf("eksguard %s: %w", g.Family.Name, decodeErr))
	}
	return errors.Join(errs...)
}

// assessAudit runs the audit rules, turning a panicking rule into an error.
func (g *Guard) assessAudit(ev *k8saudit.Event, pol *policy.Policy) (fs []finding.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("eksguard %s: assessing audit event %s panicked: %v", g.Family.Name, ev.AuditID, r)
		}
	}()
	return rules.AssessAudit(ev, pol), nil
}
