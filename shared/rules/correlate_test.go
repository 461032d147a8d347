package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/correlation"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// replaySteps runs calls through the real decoder, MarkOf, a
// correlation.Memory and the whole catalogue's correlation rules, in order,
// and returns the findings of each call.
func replaySteps(t *testing.T, pol *policy.Policy, start time.Time, steps []Step, actor string) [][]finding.Finding {
	t.Helper()
	var mem correlation.Memory
	out := make([][]finding.Finding, len(steps))
	for i, s := range steps {
		raw := record(EKS, s.Event, s.Params, "", "", actor)
		rec, err := cloudtrail.DecodeRecord(raw)
		if err != nil {
			t.Fatalf("step %d: decode: %v", i, err)
		}
		rec.EventID = fmt.Sprintf("step-%d", i)
		rec.EventTime = cloudtrail.Time{Time: start.Add(s.At)}
		m, ok := MarkOf(rec, pol)
		if !ok {
			continue
		}
		recent, err := mem.Record(context.Background(), m, pol.Correlation.Window.Duration)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = Correlate(&m, recent, rec, pol)
	}
	return out
}

// TestSequences runs every correlation rule's sequences: the rule fires on
// the last call of those marked Fires, and on no call of the others.
func TestSequences(t *testing.T) {
	pol, err := policy.Parse([]byte(ExamplePolicy), "ExamplePolicy", IDs())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 5, 6, 9, 0, 0, 0, time.UTC)
	for _, r := range All() {
		if r.Correlate == nil {
			if len(r.Examples) == 0 {
				t.Errorf("rule %s has no examples", r.ID)
			}
			continue
		}
		fires, quiet := 0, 0
		for _, sq := range r.Correlate.Sequences {
			t.Run(r.ID+"/"+sq.Name, func(t *testing.T) {
				got := replaySteps(t, pol, start, sq.Steps, "")
				for i, fs := range got {
					n := 0
					for _, f := range fs {
						if f.Rule == r.ID {
							n++
						}
					}
					want := 0
					if sq.Fires && i == len(sq.Steps)-1 {
						want = 1
					}
					if n != want {
						t.Errorf("step %d (%s): the rule fired %d times, want %d", i, sq.Steps[i].Event, n, want)
					}
				}
			})
			if sq.Fires {
				fires++
			} else {
				quiet++
			}
		}
		if fires == 0 || quiet == 0 {
			t.Errorf("rule %s: %d sequences that fire and %d that stay quiet; want at least one of each", r.ID, fires, quiet)
		}
		for _, e := range r.Correlate.Events {
			if !Handles(families.Access, EKS, e) {
				t.Errorf("rule %s reads %s, which the access function is not routed", r.ID, e)
			}
		}
	}
}

func TestAccessGrantedThenRemoved(t *testing.T) {
	pol := testPolicy(t)
	start := time.Date(2025, 5, 6, 9, 0, 0, 0, time.UTC)
	create := Step{0, "CreateAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`}
	del := Step{30 * time.Minute, "DeleteAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`}
	tests := []struct {
		name  string
		steps []Step
		actor string
		want  []string // the rule's summaries at the last step
	}{
		{"created then deleted", []Step{create, del}, "", []string{"access entry for arn:aws:iam::111122223333:role/dev-team on cluster prod lasted 30m: CreateAccessEntry at 2025-05-06T09:00:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice, DeleteAccessEntry at 2025-05-06T09:30:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice"}},
		// Events judged out of order (a Lambda may see the deletion first)
		// still pair up, on whichever comes second.
		{"deletion seen first", []Step{del, create}, "", []string{"access entry for arn:aws:iam::111122223333:role/dev-team on cluster prod lasted 30m: CreateAccessEntry at 2025-05-06T09:00:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice, DeleteAccessEntry at 2025-05-06T09:30:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice"}},
		{"deleted at the window's end", []Step{create, {time.Hour, del.Event, del.Params}}, "", []string{"access entry for arn:aws:iam::111122223333:role/dev-team on cluster prod lasted 1h: CreateAccessEntry at 2025-05-06T09:00:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice, DeleteAccessEntry at 2025-05-06T10:00:00Z by arn:aws:sts::111122223333:assumed-role/dev-team/alice"}},
		{"deleted a second past the window", []Step{create, {time.Hour + time.Second, del.Event, del.Params}}, "", nil},
		{"another principal deleted", []Step{create, {time.Minute, "DeleteAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/other"}`}}, "", nil},
		{"deleted by automation", []Step{create, del}, "arn:aws:sts::111122223333:assumed-role/terraform-deployer/run", nil},
		{"allowed principal", []Step{
			{0, "CreateAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/allowed-ci"}`},
			{time.Minute, "DeleteAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/allowed-ci"}`}}, "", nil},
		{"policy disassociation after an entry creation", []Step{create, {time.Minute, "DisassociateAccessPolicy", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}`}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replaySteps(t, pol, start, tt.steps, tt.actor)
			if n := len(ruleFindings(got[0], AccessGrantedThenRemoved.ID)); n != 0 {
				t.Errorf("first call gave %d findings, want 0", n)
			}
			var sums []string
			for _, f := range ruleFindings(got[len(got)-1], AccessGrantedThenRemoved.ID) {
				sums = append(sums, f.Summary)
				if f.Severity != finding.Medium || f.Cluster != "prod" || f.Plan != nil || f.EventID != fmt.Sprintf("step-%d", len(tt.steps)-1) {
					t.Errorf("finding = severity %v cluster %q plan %v event %q; want medium, prod, no plan, the last step", f.Severity, f.Cluster, f.Plan, f.EventID)
				}
			}
			if strings.Join(sums, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q, want %q", sums, tt.want)
			}
		})
	}
}

func TestPrincipalGrantedManyClusters(t *testing.T) {
	start := time.Date(2025, 5, 6, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		policy string
		steps  []Step
		want   []int // the steps that fire
	}{
		{"five clusters", "", fleet(5, 10*time.Minute), []int{4}},
		{"six clusters: the sixth fires again", "", fleet(6, 5*time.Minute), []int{4, 5}},
		{"three clusters under a policy that says three", "correlation: {window: 30m, clusters: 3}\n", fleet(3, 10*time.Minute), []int{2}},
		{"three clusters over 40 minutes with a 30m window", "correlation: {window: 30m, clusters: 3}\n", fleet(3, 20*time.Minute), nil},
		{"a repeat grant on a counted cluster", "", append(fleet(4, time.Minute), Step{10 * time.Minute, "AssociateAccessPolicy", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"cluster"}}`}), nil},
		{"rule off", "rules: {principal-granted-many-clusters: {mode: off}}\n", fleet(5, time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := policy.Parse([]byte(ExamplePolicy+tt.policy), "p.yaml", IDs())
			if err != nil {
				t.Fatal(err)
			}
			var fired []int
			for i, fs := range replaySteps(t, pol, start, tt.steps, "") {
				for _, f := range ruleFindings(fs, PrincipalGrantedManyClusters.ID) {
					fired = append(fired, i)
					if f.Severity != finding.High || f.Principal != devRole {
						t.Errorf("step %d: severity %v principal %q, want high, %s", i, f.Severity, f.Principal, devRole)
					}
				}
			}
			if fmt.Sprint(fired) != fmt.Sprint(tt.want) {
				t.Errorf("fired at steps %v, want %v", fired, tt.want)
			}
		})
	}
}

func ruleFindings(fs []finding.Finding, id string) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

func TestMarkOf(t *testing.T) {
	pol := testPolicy(t)
	tests := []struct {
		name string
		rec  *cloudtrail.Record
		want string // the mark's event, "" for none
	}{
		{"entry created", ev("CreateAccessEntry", entry(devRole)), "CreateAccessEntry"},
		{"policy disassociated", ev("DisassociateAccessPolicy", assoc(devRole, viewARN, "")), "DisassociateAccessPolicy"},
		{"denied", ev("CreateAccessEntry", entry(devRole), failed("AccessDeniedException")), ""},
		{"entry updated", ev("UpdateAccessEntry", entry(devRole)), ""},
		{"no principal", ev("DeleteAccessEntry", entry("")), ""},
		{"by automation", ev("DeleteAccessEntry", entry(devRole), func(r *cloudtrail.Record) {
			r.UserIdentity.ARN = "arn:aws:sts::111122223333:assumed-role/terraform-deployer/run"
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rec.EventTime = cloudtrail.Time{Time: time.Date(2025, 5, 6, 9, 0, 0, 0, time.UTC)}
			m, ok := MarkOf(tt.rec, pol)
			if got := m.Event; got != tt.want || ok != (tt.want != "") {
				t.Fatalf("got %q (%v), want %q", got, ok, tt.want)
			}
			if ok && (m.Principal != devRole || m.Cluster != cluster || m.Account != home || m.Region != "eu-west-1") {
				t.Errorf("got mark %+v, want %s on %s in %s eu-west-1", m, devRole, cluster, home)
			}
		})
	}
}
