package rules

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/policy"
)

// sourceOf is the event source the catalogue reads an event name from.
func sourceOf(eventName string) string {
	for _, r := range All() {
		for _, j := range r.Judge {
			if slices.Contains(j.Events(), eventName) {
				return j.Source()
			}
		}
	}
	return ""
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		kinds := 0
		for _, has := range []bool{len(r.Judge) > 0, r.Correlate != nil, len(r.Audit) > 0} {
			if has {
				kinds++
			}
		}
		if r.ID == "" || r.Title == "" || r.Rationale == "" || r.Fix == "" || kinds != 1 {
			t.Errorf("rule %q is incomplete", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule ID %q", r.ID)
		}
		seen[r.ID] = true
		if _, ok := ByID(r.ID); !ok {
			t.Errorf("ByID(%q) fails", r.ID)
		}
		for _, j := range r.Judge {
			if len(j.Events()) == 0 {
				t.Errorf("rule %s has a judgement that reads no event", r.ID)
			}
			for _, e := range j.Events() {
				fam, ok := families.For(j.Source(), e)
				if !ok {
					t.Errorf("rule %s reads %s %s, which no family owns", r.ID, j.Source(), e)
					continue
				}
				if !Handles(fam, j.Source(), e) || !slices.Contains(EventNames(fam), e) {
					t.Errorf("rule %s reads %s, which the %s family is not routed", r.ID, e, fam.Name)
				}
			}
		}
	}
	if len(All()) != 34 {
		t.Errorf("catalogue has %d rules, want 34", len(All()))
	}
}

// record wraps request parameters in a CloudTrail record as CloudTrail
// writes it.
func record(source, name, params, response, errorCode, actor string) []byte {
	if actor == "" {
		actor = "arn:aws:sts::" + ExampleAccount + ":assumed-role/dev-team/alice"
	}
	region := "eu-west-1"
	if source == IAM {
		region = "us-east-1"
	}
	rec := map[string]any{
		"eventVersion": "1.09", "eventID": "example-1", "eventTime": "2025-05-06T09:21:03Z",
		"eventSource": source, "eventName": name, "awsRegion": region, "recipientAccountId": ExampleAccount,
		"sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15", "readOnly": false,
		"userIdentity":      map[string]any{"type": "AssumedRole", "arn": actor, "accountId": ExampleAccount},
		"requestParameters": json.RawMessage(params),
	}
	if errorCode != "" {
		rec["errorCode"] = errorCode
	}
	if response != "" {
		rec["responseElements"] = json.RawMessage(response)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// TestExamples runs every rule's examples through the real decoder and the
// whole catalogue: the rule fires on the ones marked Fires and stays quiet
// on the others.
func TestExamples(t *testing.T) {
	pol, err := policy.Parse([]byte(ExamplePolicy), "ExamplePolicy", IDs())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range All() {
		fires, quiet := 0, 0
		for _, ex := range r.Examples {
			t.Run(r.ID+"/"+ex.Name, func(t *testing.T) {
				if ex.Audit != "" {
					if got := fired(AssessAudit(exampleAuditEvent(t, ex.Audit), pol), r.ID); (got > 0) != ex.Fires {
						t.Errorf("rule fired %d times, want fires=%v", got, ex.Fires)
					}
					return
				}
				src := sourceOfRule(r, ex.Event)
				if src == "" {
					t.Fatalf("example event %s is not one the rule reads", ex.Event)
				}
				rec, err := cloudtrail.DecodeRecord(record(src, ex.Event, ex.Params, ex.Response, ex.ErrorCode, ex.Actor))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				got := 0
				for _, f := range Assess(rec, pol) {
					if f.Rule == r.ID {
						got++
					}
				}
				if (got > 0) != ex.Fires {
					t.Errorf("rule fired %d times, want fires=%v", got, ex.Fires)
				}
			})
			if ex.Fires {
				fires++
			} else {
				quiet++
			}
		}
		if r.Correlate != nil {
			continue // shown in sequences: TestSequences
		}
		if fires == 0 || quiet == 0 {
			t.Errorf("rule %s: %d examples that fire and %d that stay quiet; want at least one of each", r.ID, fires, quiet)
		}
	}
}

func sourceOfRule(r Rule, event string) string {
	for _, j := range r.Judge {
		if slices.Contains(j.Events(), event) {
			return j.Source()
		}
	}
	return ""
}

// TestJudgementsMatchDecoders fails when a rule reads an event whose decoder
// does not produce the parameter type the rule's judgement reads.
func TestJudgementsMatchDecoders(t *testing.T) {
	for _, r := range All() {
		for _, j := range r.Judge {
			for _, e := range j.Events() {
				rec, err := cloudtrail.DecodeRecord(record(j.Source(), e, `{}`, "", "", ""))
				if err != nil {
					t.Errorf("rule %s: decode %s with empty parameters: %v", r.ID, e, err)
					continue
				}
				if got := reflect.TypeOf(rec.Params); got != j.Params() {
					t.Errorf("rule %s reads %s as %v, the decoder gives %v", r.ID, e, j.Params(), got)
				}
			}
		}
	}
}

// TestRoutedEventsHaveRules: every event a family is routed has a rule, and
// every routed event has a decoder.
func TestRoutedEventsHaveRules(t *testing.T) {
	total := 0
	for _, fam := range families.All() {
		names := EventNames(fam)
		if len(names) == 0 {
			t.Errorf("family %s is routed no event", fam.Name)
		}
		var branches []any
		for _, svc := range fam.Services {
			svcNames := ServiceEventNames(fam, svc.EventSource)
			if len(svcNames) == 0 {
				t.Errorf("family %s reads %s, and is routed none of its events", fam.Name, svc.EventSource)
				continue
			}
			branches = append(branches, map[string]any{"eventSource": []string{svc.EventSource}, "eventName": svcNames})
			for _, e := range svcNames {
				total++
				if !cloudtrail.Decodable(svc.EventSource, e) {
					t.Errorf("family %s is routed %s %s, which has no decoder", fam.Name, svc.EventSource, e)
				}
				n := 0
				for _, r := range All() {
					if slices.ContainsFunc(r.Judge, func(j Judgement) bool { return j.Source() == svc.EventSource && slices.Contains(j.Events(), e) }) {
						n++
					}
				}
				if n == 0 {
					t.Errorf("family %s is routed %s %s, which no rule reads", fam.Name, svc.EventSource, e)
				}
			}
		}
		pat := Pattern(fam)
		detail := pat["detail"].(map[string]any)
		if len(branches) == 1 {
			if got := detail["eventName"]; !reflect.DeepEqual(got, names) {
				t.Errorf("pattern of %s lists %v, want %v", fam.Name, got, names)
			}
		} else if got := detail["$or"]; !reflect.DeepEqual(got, branches) {
			t.Errorf("pattern of %s matches %v, want one branch per service %v", fam.Name, got, branches)
		}
	}
	// The events no rule read before the catalogue drove routing stay unrouted.
	for _, e := range []string{"AssociateEncryptionConfig"} {
		if InScope(EKS, e) {
			t.Errorf("%s is in scope with no rule reading it", e)
		}
	}
	for _, e := range []string{"DetachUserPolicy", "DetachGroupPolicy"} {
		if InScope(IAM, e) {
			t.Errorf("%s is in scope with no rule reading it", e)
		}
	}
	if total != 41 {
		t.Errorf("%d events routed, want 41", total)
	}
}

// TestJudgementPanicsOnMismatch: a decoder and a judgement that disagree are
// an error the guard turns into a dead-lettered event, not silence.
func TestJudgementPanicsOnMismatch(t *testing.T) {
	rec := &cloudtrail.Record{EventSource: EKS, EventName: "AssociateAccessPolicy", Params: &cloudtrail.AccessEntryParams{}}
	defer func() {
		if recover() == nil {
			t.Error("a judgement given the wrong parameter type returned quietly")
		}
	}()
	ClusterAdminGranted.Eval(rec, policy.Default())
}
