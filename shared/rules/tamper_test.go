package rules

import (
	"encoding/json"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
)

// Which selector sets still log the management writes eksguard judges.
func TestSelectorsKeepManagementWrites(t *testing.T) {
	for _, c := range []struct {
		name, params string
		want         bool
	}{
		{"classic default", `{"eventSelectors":[{}]}`, true},
		{"classic write-only", `{"eventSelectors":[{"readWriteType":"WriteOnly"}]}`, true},
		{"classic none", `{"eventSelectors":[]}`, false},
		{"classic read-only and data only", `{"eventSelectors":[{"readWriteType":"ReadOnly"},{"includeManagementEvents":"false"}]}`, false},
		{"classic one of two keeps writes", `{"eventSelectors":[{"readWriteType":"ReadOnly"},{"readWriteType":"All"}]}`, true},
		{"advanced none", `{"advancedEventSelectors":[]}`, false},
		{"advanced management", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}`, true},
		{"advanced management writes", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["false"]}]}]}`, true},
		{"advanced management reads", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}`, false},
		{"advanced not writes", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","notEquals":["false"]}]}]}`, false},
		{"advanced excluding KMS", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"eventSource","notEquals":["kms.amazonaws.com"]}]}]}`, true},
	} {
		var p cloudtrail.EventSelectorsParams
		if err := json.Unmarshal([]byte(c.params), &p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got bool
		if p.AdvancedEventSelectors != nil {
			got = cloudtrail.SelectsAdvancedManagementWrites(p.AdvancedEventSelectors)
		} else {
			got = cloudtrail.SelectsManagementWrites(p.EventSelectors)
		}
		if got != c.want {
			t.Errorf("%s: keeps management writes = %v, want %v", c.name, got, c.want)
		}
	}
}

// Resource names as the calls give them: names, ARNs, qualifiers.
func TestTamperResourceNames(t *testing.T) {
	for in, want := range map[string]string{
		"eksguard-AccessFunction1-Abc":                                          "eksguard-AccessFunction1-Abc",
		"arn:aws:lambda:eu-west-1:111122223333:function:eksguard-Iam-X":         "eksguard-Iam-X",
		"arn:aws:lambda:eu-west-1:111122223333:function:eksguard-Iam-X:$LATEST": "eksguard-Iam-X",
		"111122223333:function:eksguard-Iam-X":                                  "eksguard-Iam-X",
	} {
		if got := (&cloudtrail.FunctionParams{FunctionName: in}).Function(); got != want {
			t.Errorf("Function(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cloudtrail.TopicName("arn:aws:sns:eu-west-1:111122223333:eksguard-T-1:0f1e2d3c"); got != "eksguard-T-1" {
		t.Errorf("TopicName of a subscription = %q, want eksguard-T-1", got)
	}
	if got := (&cloudtrail.TableParams{TableName: "arn:aws:dynamodb:eu-west-1:111122223333:table/eksguard-State-1"}).Table(); got != "eksguard-State-1" {
		t.Errorf("Table of an ARN = %q, want eksguard-State-1", got)
	}
	if got := cloudtrail.TrailName("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"); got != "org" {
		t.Errorf("TrailName = %q, want org", got)
	}
}
