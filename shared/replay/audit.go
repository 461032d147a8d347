package replay

import (
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// assessAudit handles a record that is not CloudTrail's: a Kubernetes
// audit event (a line of an audit log export), a CloudWatch Logs
// subscription payload of an EKS audit log (as a Firehose or S3
// subscription stores it), or the Lambda event that carries one. ok is
// false for anything else. Only the completed writes some rule reads count
// as in scope; events outside window are skipped.
func assessAudit(eng *rules.Engine, raw []byte, window *trailfile.Filter, st *Stats) (fs []finding.Finding, ok bool, err error) {
	var evs []*k8saudit.Event
	switch {
	case k8saudit.Looks(raw):
		ev, err := k8saudit.Decode(raw)
		if err != nil {
			return nil, true, err
		}
		evs = []*k8saudit.Event{ev}
	case k8saudit.LooksLikeSubscription(raw):
		var sub *k8saudit.Subscription
		if k8saudit.IsLambdaEvent(raw) {
			sub, err = k8saudit.DecodeLambdaEvent(raw)
		} else {
			sub, err = k8saudit.DecodeSubscription(raw)
		}
		if err != nil {
			return nil, true, err
		}
		// The events that decode are judged; a bad one is the error.
		evs, err = sub.Events("")
	default:
		return nil, false, nil
	}
	for _, ev := range evs {
		if window != nil && !ev.StageTimestamp.IsZero() && !window.InWindow(ev.StageTimestamp.Truncate(time.Second)) {
			st.Outside.Add(1)
			continue
		}
		if !eng.ReadsAudit(ev) {
			continue
		}
		st.InScope.Add(1)
		fs = append(fs, eng.AssessAudit(ev)...)
	}
	return fs, true, err
}
