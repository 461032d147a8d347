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

	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
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
	kinesis := auditKinesis(t, s, fn)
	return fmt.Sprintf("subscription put on %s; %d payloads: %d findings published, %d Slack posts, %d quiet; redeliveries published nothing; %s",
		group, len(s.audit), published, posted, quiet, kinesis)
}

// auditKinesis: the central audit stream's records (organization mode)
// reach the same function as a Kinesis batch. A member account's payload,
// its region named by eksguard's destination filter, is judged as that
// account's in that region; at a record that does not inflate, the batch
// stops and answers its sequence number, so that Lambda retries from it.
func auditKinesis(t *testing.T, s *stand, fn *lambdatest.Function) string {
	t.Helper()
	const member, memberRegion = "444455556666", "us-east-1"
	data := memberPayload(t, s, "aws-auth-dev-role-mapped-to-masters.json", member, memberRegion)
	const good, bad = "49590113511868854463662270179364609397970000", "49590113511868854463662270179364609397970001"
	batch, err := json.Marshal(map[string]any{"Records": []any{kinesisRecord(good, data), kinesisRecord(bad, []byte("not gzip"))}})
	if err != nil {
		t.Fatal(err)
	}
	s.reset()
	out := invoke(t, fn, batch)
	if want := `{"batchItemFailures":[{"itemIdentifier":"` + bad + `"}]}`; strings.TrimSpace(string(out)) != want {
		t.Errorf("the kubernetes function answered %s, want %s", out, want)
	}
	notes := s.notes(t)
	if len(notes) == 0 {
		t.Fatal("the member's payload published nothing")
	}
	for _, n := range notes {
		if n.F.Account != member || n.F.Region != memberRegion || n.F.Cluster == "" {
			t.Errorf("%s: account %s region %s cluster %q, want the member %s in %s", n.F.Rule, n.F.Account, n.F.Region, n.F.Cluster, member, memberRegion)
		}
	}
	return fmt.Sprintf("a Kinesis batch of a member payload and a broken record: %d findings in %s %s, failure at the broken record", len(notes), member, memberRegion)
}

// memberPayload is the sample of events/kubernetes named by path as a
// member account's log group sends it through eksguard's destination
// filter of region: the account as its owner, the filter's name in it,
// gzip'd (a Kinesis record's data).
func memberPayload(t *testing.T, s *stand, path, member, region string) []byte {
	t.Helper()
	var raw []byte
	for _, ev := range s.audit {
		if strings.HasSuffix(ev.Path, path) {
			raw = ev.Raw
		}
	}
	if raw == nil {
		t.Fatalf("events/kubernetes has no %s", path)
	}
	var sub map[string]any
	if err := json.Unmarshal(raw, &sub); err != nil {
		t.Fatal(err)
	}
	sub["owner"], sub["subscriptionFilters"] = member, []string{k8saudit.DestinationFilterName(region)}
	plain, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	return z.Bytes()
}

// kinesisRecord is a record of the central audit stream as Lambda
// delivers it in a Kinesis batch.
func kinesisRecord(seq string, data []byte) map[string]any {
	return map[string]any{
		"kinesis":     map[string]any{"kinesisSchemaVersion": "1.0", "partitionKey": "a3f1c2", "sequenceNumber": seq, "data": data, "approximateArrivalTimestamp": 1746523264.5},
		"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:" + seq, "eventName": "aws:kinesis:record",
		"awsRegion": region, "eventSourceARN": "arn:aws:kinesis:" + region + ":" + account + ":stream/" + stackName + "-audit",
	}
}
