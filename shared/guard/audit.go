package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// HandleLogs handles what a CloudWatch Logs subscription invokes the
// kubernetes function with ({"awslogs":{"data":...}}), from an EKS
// cluster's audit log (HandleAudit, the function's handler, hands it over). Each audit event some rule reads is assessed; one
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
	return g.handleSubscription(ctx, sub)
}

// HandleAudit is the kubernetes function's Lambda handler: a Kinesis batch
// (HandleKinesis) when the event has Records, else a subscription's event
// (HandleLogs).
func (g *Guard) HandleAudit(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records json.RawMessage `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.Records != nil {
		var batch events.KinesisEvent
		if err := json.Unmarshal(raw, &batch); err != nil {
			g.log().ErrorContext(ctx, "cannot decode the Kinesis batch", "function", g.Family.Name, "error", err)
			return nil, fmt.Errorf("eksguard %s: decode Kinesis batch: %w", g.Family.Name, err)
		}
		return g.HandleKinesis(ctx, batch), nil
	}
	return nil, g.HandleLogs(ctx, raw)
}

// HandleKinesis handles a batch of the central account's audit log stream
// (organization mode): each record's data is a gzip'd subscription payload
// that a member account's log group sent through the CloudWatch Logs
// destination of its region. Records are handled in order; at the first
// that fails, the rest are left and its sequence number is returned as the
// batch's failure, so that Lambda retries from it (a stream is read in
// order: what follows would be read again anyway) and, once the retries are
// spent, hands the batch to the mapping's failure destination.
func (g *Guard) HandleKinesis(ctx context.Context, batch events.KinesisEvent) events.KinesisEventResponse {
	for _, r := range batch.Records {
		sub, err := k8saudit.DecodeGzipped(r.Kinesis.Data)
		if err == nil {
			err = g.handleSubscription(ctx, sub)
		} else {
			err = fmt.Errorf("eksguard %s: decode Kinesis record %s: %w", g.Family.Name, r.Kinesis.SequenceNumber, err)
			g.log().ErrorContext(ctx, "cannot decode the subscription payload", "function", g.Family.Name, "sequenceNumber", r.Kinesis.SequenceNumber, "error", err)
		}
		if err != nil {
			g.log().ErrorContext(ctx, "Kinesis record failed: the batch is retried from it", "function", g.Family.Name,
				"sequenceNumber", r.Kinesis.SequenceNumber, "eventSourceARN", r.EventSourceArn)
			return events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{{ItemIdentifier: r.Kinesis.SequenceNumber}}}
		}
	}
	return events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
}

// handleSubscription assesses the audit events of a subscription payload.
// The log group's region is the function's, unless eksguard's destination
// filter, which names it, delivered the payload.
func (g *Guard) handleSubscription(ctx context.Context, sub *k8saudit.Subscription) error {
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
	region := sub.Region()
	if region == "" {
		region = g.Region
	}
	evs, decodeErr := sub.Events(region)
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
