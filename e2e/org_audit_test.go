//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// organization-audit-log: a member account's UpdateClusterConfig that
// turns a cluster's audit log on, routed by the synthesized member and
// central rules to the central cluster function, makes it put eksguard's
// filter on the member's log group through the member's remediation role
// (its calls authorized against the member template's grants): to the
// central destination of the region the central stack declares, named
// for the region. The kubernetes function, fed what that destination's
// stream delivers (a Kinesis batch whose record is the member's gzip'd
// payload under that filter's name), publishes the member's findings in
// the member's region.
func scenarioOrganizationAuditLog(t *testing.T, s *stand) string {
	o := synthOrg(t, s)
	fake := stsfake.New(t)
	var roleID string
	for _, id := range o.member.ids("AWS::IAM::Role") {
		if str(o.member.Resources[id].Properties["RoleName"]) == orgRoleName {
			roleID = id
		}
	}
	pol := rolePolicy(t, o.member, &resolver{tm: o.member, in: memberA}, roleID)
	if err := s.world.Enforce(awsfake.Principal{AccessKey: stsfake.AccessKeyFor(memberA), RoleARN: memberRoleARN(memberA), Session: "eksguard", Policy: pol}); err != nil {
		t.Fatal(err)
	}
	// The destination the central stack declares in the central region.
	var destARN string
	for _, id := range o.central.ids("AWS::Logs::Destination") {
		p := o.central.Resources[id].Properties
		destARN = "arn:aws:logs:" + region + ":" + account + ":destination:" + str(p["DestinationName"])
		if policy := (&resolver{tm: o.central}).value(t, p["DestinationPolicy"]); !strings.Contains(policy, `"aws:PrincipalOrgID":"`+orgID+`"`) || !strings.Contains(policy, destARN) {
			t.Errorf("destination %s's policy %s does not let only the organization %s subscribe to %s", id, policy, orgID, destARN)
		}
	}
	if destARN == "" {
		t.Fatal("the central stack declares no audit log destination in its region")
	}
	// CloudWatch Logs also wants the sender's own grant on the destination.
	if !slices.ContainsFunc(pol, func(st awsfake.Statement) bool {
		return st.Effect == "Allow" && slices.Contains(st.Actions, "logs:PutSubscriptionFilter") && slices.Contains(st.Resources, destARN)
	}) {
		t.Errorf("the member role may not put a subscription filter to %s: %+v", destARN, pol)
	}

	spec := *s.dep.Functions["cluster"]
	spec.Env = o.envOf(t, s, "cluster")
	if spec.Env["EKSGUARD_AUDIT_DESTINATION"] == "" || !strings.HasSuffix(destARN, ":destination:"+spec.Env["EKSGUARD_AUDIT_DESTINATION"]) {
		t.Fatalf("cluster EKSGUARD_AUDIT_DESTINATION=%q, want the name of %s", spec.Env["EKSGUARD_AUDIT_DESTINATION"], destARN)
	}
	env := maps.Clone(s.fakeEnv)
	env["AWS_ENDPOINT_URL_STS"] = fake.URL
	fn := startFunction(t, s.rie, s.launch, &spec, env)

	s.reset()
	raw := inMember(t, s.event(t, enableAuditEvent), memberA, "e2e0rg00-0000-4000-8000-0000000000a1", "")
	if to := o.route(t, s, raw); !slices.Equal(to, []string{"cluster"}) {
		t.Fatalf("routed to %v, want [cluster]", to)
	}
	applyChange(t, s.world, raw)
	answeredNull(t, "the cluster function", invoke(t, fn, raw))
	var ev struct {
		Detail struct {
			RequestParameters struct {
				Name string `json:"name"`
			} `json:"requestParameters"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	group := "/aws/eks/" + ev.Detail.RequestParameters.Name + "/cluster"
	filters, ok := s.world.Logs.Filters(group)
	want := k8saudit.DestinationFilterName(region)
	if !ok || len(filters) != 1 || filters[0].Name != want || filters[0].Destination != destARN || filters[0].Pattern != rules.AuditFilterPattern() {
		t.Fatalf("log group %s (exists %v) has filters %+v, want %s with the catalogue's pattern to %s", group, ok, filters, want, destARN)
	}
	var logsCalls int
	for _, c := range s.world.Log.Of("logs") {
		logsCalls++
		if c.Caller != memberRoleARN(memberA) {
			t.Errorf("CloudWatch Logs %s called as %s, want the member's remediation role", c.Op, c.Caller)
		}
	}

	// What the destination's stream delivers to the kubernetes function,
	// which the central stack maps it to, reporting failed records.
	var mapped bool
	cr := &resolver{tm: o.central}
	for _, id := range o.central.ids("AWS::Lambda::EventSourceMapping") {
		p := o.central.Resources[id].Properties
		if o.central.Resources[cr.getAttID(p["EventSourceArn"], "Arn")].Type != "AWS::Kinesis::Stream" {
			continue
		}
		types, _ := p["FunctionResponseTypes"].([]any)
		mapped = cr.refID(p["FunctionName"]) == s.dep.Functions["kubernetes"].LogicalID && slices.Contains(types, any("ReportBatchItemFailures"))
	}
	if !mapped {
		t.Error("the central stack maps no Kinesis stream to the kubernetes function with ReportBatchItemFailures")
	}
	k8sSpec := *s.dep.Functions["kubernetes"]
	k8sSpec.Env = o.envOf(t, s, "kubernetes")
	k8s := startFunction(t, s.rie, s.launch, &k8sSpec, env)
	batch, _ := json.Marshal(map[string]any{"Records": []any{
		kinesisRecord("49590113511868854463662270179364609397970042", memberPayload(t, s, "clusterrolebinding-cluster-admin-to-dev.json", memberA, region)),
	}})
	s.reset()
	if out := strings.TrimSpace(string(invoke(t, k8s, batch))); out != `{"batchItemFailures":[]}` {
		t.Errorf("the kubernetes function answered %s, want no failures", out)
	}
	notes := s.notes(t)
	if len(notes) == 0 {
		t.Fatal("the member's audit payload published nothing")
	}
	for _, n := range notes {
		if n.F.Account != memberA || n.F.Region != region || n.F.Rule != "cluster-admin-bound" {
			t.Errorf("published %s in %s %s, want cluster-admin-bound in the member %s", n.F.Rule, n.F.Account, n.F.Region, memberA)
		}
	}
	return fmt.Sprintf("member %s's audit log subscribed to %s as %s through its role (%d CloudWatch Logs calls); the stream's batch gave %d finding(s) of the member",
		memberA, destARN, want, logsCalls, len(notes))
}
