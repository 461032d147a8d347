//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// enableAuditEvent turns a cluster's audit log on (with the others).
const enableAuditEvent = "cluster/update-config-enable-all-logging.json"

// logsEvent is a subscription payload as CloudWatch Logs invokes a Lambda
// function with it: gzip'd, base64'd, under awslogs.data.
func logsEvent(t *testing.T, payload []byte) []byte {
	t.Helper()
	var compact, z bytes.Buffer
	if err := json.Compact(&compact, payload); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(compact.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(z.Bytes())}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// audit-log: the cluster function, given an UpdateClusterConfig that turns
// the audit log on, puts the kubernetes function's subscription filter on
// the cluster's log group (creating the group EKS has not made yet); then
// each sample of events/kubernetes, as that subscription delivers it, gives
// the kubernetes function the golden findings, each with its kubectl
// command and no plan, and each message one Slack post; a redelivered
// payload publishes nothing again.
func scenarioAuditLog(t *testing.T, s *stand) string {
	publishMin, slackMin := s.thresholds(t)

	s.reset()
	raw := s.event(t, enableAuditEvent)
	applyChange(t, s.world, raw)
	_, out := s.deliver(t, raw)
	answeredNull(t, "the cluster function", out)
	var cluster struct {
		Detail struct {
			RequestParameters struct {
				Name string `json:"name"`
			} `json:"requestParameters"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &cluster); err != nil {
		t.Fatal(err)
	}
	group := "/aws/eks/" + cluster.Detail.RequestParameters.Name + "/cluster"
	filters, ok := s.world.Logs.Filters(group)
	k8sARN := s.dep.Functions["cluster"].Env["EKSGUARD_AUDIT_FUNCTION_ARN"]
	if !ok || len(filters) != 1 || filters[0].Name != k8saudit.SubscriptionFilterName || filters[0].Pattern != rules.AuditFilterPattern() ||
		filters[0].Destination != k8sARN || !strings.HasSuffix(k8sARN, ":function:"+physical(s.dep.Functions["kubernetes"].LogicalID)) {
		t.Errorf("log group %s (exists %v) has filters %+v, want the catalogue's pattern to the kubernetes function %s", group, ok, filters, k8sARN)
	}

	fn := s.fns["kubernetes"]
	var published, posted, quiet int
	for _, ev := range s.audit {
		t.Run(ev.Path, func(t *testing.T) {
			s.reset()
			out := invoke(t, fn, logsEvent(t, ev.Raw))
			answeredNull(t, "the kubernetes function", out)
			notes := s.notes(t)
			var got []string
			for _, n := range notes {
				f := n.F
				got = append(got, f.Rule+"/"+f.Severity.String())
				if f.Plan != nil || f.Outcome.Status != finding.StatusNoPlan || !strings.Contains(f.Command, "kubectl") {
					t.Errorf("%s: plan %v, outcome %s, command %q; want no plan and a kubectl command", f.Rule, f.Plan, f.Outcome.Status, f.Command)
				}
				if f.Cluster == "" || f.Region != region || f.Account != "111122223333" || f.Actor.ARN == "" {
					t.Errorf("%s: cluster %q region %q account %q actor %q; want the log group's cluster, the function's region, the owner and the caller", f.Rule, f.Cluster, f.Region, f.Account, f.Actor.ARN)
				}
				if topic := s.dep.Functions["kubernetes"].Env["EKSGUARD_TOPIC_ARN"]; n.Pub.TopicARN != topic {
					t.Errorf("%s published to %s, want the stack's topic %s", f.Rule, n.Pub.TopicARN, topic)
				}
			}
			slices.Sort(got)
			if want := s.golden(t, ev.Path, publishMin); !slices.Equal(got, want) {
				t.Errorf("published findings %v, want the golden %v (shared/rules/testdata/golden-policy/%s, at least %s)", got, want, ev.Path, publishMin)
			}
			if w := s.writes(); len(w) != 0 {
				t.Errorf("the kubernetes function changed %v; it has no fix to make", w)
			}
			s.driveSNS(t, publications(notes))
			var want []note
			for _, n := range notes {
				if n.F.Severity >= slackMin {
					want = append(want, n)
				}
			}
			posts := s.hook.Posts()
			if len(posts) != len(want) {
				t.Fatalf("%d Slack posts for %d findings at or above %s", len(posts), len(want), slackMin)
			}
			for i, p := range posts {
				checkPost(t, p, want[i].F)
			}
			if len(notes) > 0 {
				// The same payload again (Lambda retries an async invocation):
				// the claims find every event completed.
				answeredNull(t, "the kubernetes function, again", invoke(t, fn, logsEvent(t, ev.Raw)))
				if n := len(s.world.SNS.Published()); n != len(notes) {
					t.Errorf("redelivery: %d messages in all, want %d", n, len(notes))
				}
			} else {
				quiet++
			}
			published += len(notes)
			posted += len(posts)
		})
	}
	return fmt.Sprintf("subscription put on %s; %d payloads: %d findings published, %d Slack posts, %d quiet; redeliveries published nothing",
		group, len(s.audit), published, posted, quiet)
}
