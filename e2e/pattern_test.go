//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// matchPattern reports whether an EventBridge event matches a rule's event
// pattern. It supports what eksguard's rules use (nested objects, arrays
// of exact values, "$or" of patterns) and fails on every other construct,
// so that a new operator in the stack makes the test fail instead of
// routing wrongly.
func matchPattern(pattern map[string]any, event any) (bool, error) {
	obj, _ := event.(map[string]any)
	for _, k := range sortedKeys(pattern) {
		if k == "$or" {
			ok, err := matchAny(pattern[k], event)
			if err != nil || !ok {
				return false, err
			}
			continue
		}
		switch p := pattern[k].(type) {
		case map[string]any:
			ok, err := matchPattern(p, obj[k])
			if err != nil || !ok {
				return false, err
			}
		case []any:
			ok, err := matchValues(k, p, obj[k])
			if err != nil || !ok {
				return false, err
			}
		default:
			return false, fmt.Errorf("pattern key %q: %v is neither an object nor an array", k, p)
		}
	}
	return true, nil
}

// matchAny: "$or" holds two or more patterns for the same object; the
// object matches when one of them does.
func matchAny(branches any, event any) (bool, error) {
	list, ok := branches.([]any)
	if !ok || len(list) < 2 {
		return false, fmt.Errorf(`pattern key "$or": %v is not an array of two or more patterns`, branches)
	}
	matched := false
	for _, b := range list {
		p, ok := b.(map[string]any)
		if !ok {
			return false, fmt.Errorf(`pattern key "$or": %v is not a pattern`, b)
		}
		ok, err := matchPattern(p, event)
		if err != nil {
			return false, err
		}
		matched = matched || ok
	}
	return matched, nil
}

// matchValues: the field (a value, or an array of values) matches when
// one of its values equals one of the pattern's.
func matchValues(key string, allowed []any, field any) (bool, error) {
	for _, a := range allowed {
		switch a.(type) {
		case string, float64, bool, nil:
		default:
			return false, fmt.Errorf("pattern key %q: %v is a content filter the e2e matcher does not support", key, a)
		}
	}
	values, isArray := field.([]any)
	if !isArray {
		if field == nil {
			return false, nil // absent (a null in the pattern matches a JSON null only: not used by eksguard)
		}
		values = []any{field}
	}
	for _, v := range values {
		for _, a := range allowed {
			if a != nil && v == a {
				return true, nil
			}
		}
	}
	return false, nil
}

// snsAttribute is a message attribute as SNS hands it to Lambda.
type snsAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// matchFilterPolicy reports whether message attributes pass an SNS
// subscription filter policy (scope MessageAttributes). It supports exact
// strings and numbers and the "numeric" operator; anything else fails.
func matchFilterPolicy(policy map[string]any, attrs map[string]snsAttribute) (bool, error) {
	for _, k := range sortedKeys(policy) {
		conds, ok := policy[k].([]any)
		if !ok {
			return false, fmt.Errorf("filter policy key %q: %v is not an array (nested policies are not supported)", k, policy[k])
		}
		a, present := attrs[k]
		matched := false
		for _, c := range conds {
			ok, err := matchCondition(k, c, a, present)
			if err != nil {
				return false, err
			}
			matched = matched || ok
		}
		if !matched {
			return false, nil
		}
	}
	return true, nil
}

func matchCondition(key string, c any, a snsAttribute, present bool) (bool, error) {
	switch v := c.(type) {
	case string:
		return present && a.Type == "String" && a.Value == v, nil
	case float64:
		n, err := strconv.ParseFloat(a.Value, 64)
		return present && a.Type == "Number" && err == nil && n == v, nil
	case map[string]any:
		if want, ok := v["exists"].(bool); ok && len(v) == 1 {
			// SNS: {"exists": false} matches a message without the attribute,
			// {"exists": true} one with it.
			return present == want, nil
		}
		ops, ok := v["numeric"].([]any)
		if len(v) != 1 || !ok || len(ops) == 0 || len(ops)%2 != 0 {
			return false, fmt.Errorf("filter policy key %q: %v is an operator the e2e matcher does not support", key, v)
		}
		if !present || a.Type != "Number" {
			return false, nil
		}
		n, err := strconv.ParseFloat(a.Value, 64)
		if err != nil {
			return false, nil
		}
		for i := 0; i < len(ops); i += 2 {
			op, _ := ops[i].(string)
			bound, isNum := ops[i+1].(float64)
			if !isNum {
				return false, fmt.Errorf("filter policy key %q: numeric bound %v is not a number", key, ops[i+1])
			}
			var ok bool
			switch op {
			case "=":
				ok = n == bound
			case ">":
				ok = n > bound
			case ">=":
				ok = n >= bound
			case "<":
				ok = n < bound
			case "<=":
				ok = n <= bound
			default:
				return false, fmt.Errorf("filter policy key %q: numeric operator %q is not supported", key, op)
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("filter policy key %q: %v is not supported", key, c)
}

// The matchers themselves, on the constructs they support and refuse.
func TestPatternMatchers(t *testing.T) {
	pattern := map[string]any{
		"source":      []any{"aws.eks"},
		"detail-type": []any{"AWS API Call via CloudTrail"},
		"detail": map[string]any{
			"eventSource": []any{"eks.amazonaws.com"},
			"eventName":   []any{"CreateAccessEntry", "AssociateAccessPolicy"},
		},
	}
	event := func(source, name string) map[string]any {
		return map[string]any{"source": source, "detail-type": "AWS API Call via CloudTrail",
			"detail": map[string]any{"eventSource": "eks.amazonaws.com", "eventName": name, "extra": 1}}
	}
	for _, c := range []struct {
		ev   any
		want bool
	}{
		{event("aws.eks", "AssociateAccessPolicy"), true},
		{event("aws.eks", "DescribeCluster"), false},
		{event("aws.iam", "CreateAccessEntry"), false},
		{map[string]any{"source": "aws.eks", "detail-type": "AWS API Call via CloudTrail"}, false}, // no detail
		{map[string]any{"source": []any{"x", "aws.eks"}, "detail-type": "AWS API Call via CloudTrail",
			"detail": map[string]any{"eventSource": "eks.amazonaws.com", "eventName": []any{"CreateAccessEntry"}}}, true}, // arrays in the event
	} {
		got, err := matchPattern(pattern, c.ev)
		if err != nil || got != c.want {
			t.Errorf("matchPattern(%s) = %v, %v; want %v", compactJSON(c.ev), got, err, c.want)
		}
	}
	// "$or": each branch pairs an eventSource with its own event names.
	multi := map[string]any{
		"source": []any{"aws.cloudtrail", "aws.ssm"},
		"detail": map[string]any{"$or": []any{
			map[string]any{"eventSource": []any{"cloudtrail.amazonaws.com"}, "eventName": []any{"StopLogging"}},
			map[string]any{"eventSource": []any{"ssm.amazonaws.com"}, "eventName": []any{"PutParameter"}},
		}},
	}
	call := func(source, eventSource, name string) map[string]any {
		return map[string]any{"source": source, "detail": map[string]any{"eventSource": eventSource, "eventName": name}}
	}
	for _, c := range []struct {
		ev   any
		want bool
	}{
		{call("aws.cloudtrail", "cloudtrail.amazonaws.com", "StopLogging"), true},
		{call("aws.ssm", "ssm.amazonaws.com", "PutParameter"), true},
		{call("aws.ssm", "ssm.amazonaws.com", "StopLogging"), false}, // a name of the other branch
		{call("aws.eks", "cloudtrail.amazonaws.com", "StopLogging"), false},
	} {
		got, err := matchPattern(multi, c.ev)
		if err != nil || got != c.want {
			t.Errorf("matchPattern($or, %s) = %v, %v; want %v", compactJSON(c.ev), got, err, c.want)
		}
	}
	for _, p := range []map[string]any{
		{"source": []any{map[string]any{"prefix": "aws."}}},
		{"source": "aws.eks"},
		{"$or": []any{map[string]any{"source": []any{"aws.eks"}}}},
		{"$or": "aws.eks"},
	} {
		if _, err := matchPattern(p, event("aws.eks", "x")); err == nil {
			t.Errorf("matchPattern(%s) accepted an unsupported pattern", compactJSON(p))
		}
	}

	filter := map[string]any{"severityLevel": []any{map[string]any{"numeric": []any{">=", 2.0}}}}
	for level, want := range map[string]bool{"1": false, "2": true, "4": true} {
		got, err := matchFilterPolicy(filter, map[string]snsAttribute{"severityLevel": {Type: "Number", Value: level}})
		if err != nil || got != want {
			t.Errorf("severityLevel %s: %v, %v; want %v", level, got, err, want)
		}
	}
	if ok, _ := matchFilterPolicy(filter, map[string]snsAttribute{}); ok {
		t.Error("a message without the attribute passed a numeric filter")
	}
	orAbsent := map[string]any{"severityLevel": []any{map[string]any{"numeric": []any{">=", 2.0}}, map[string]any{"exists": false}}}
	for name, tt := range map[string]struct {
		attrs map[string]snsAttribute
		want  bool
	}{
		"no attribute (an alarm)": {map[string]snsAttribute{}, true},
		"at the threshold":        {map[string]snsAttribute{"severityLevel": {Type: "Number", Value: "2"}}, true},
		"below it":                {map[string]snsAttribute{"severityLevel": {Type: "Number", Value: "1"}}, false},
	} {
		if got, err := matchFilterPolicy(orAbsent, tt.attrs); err != nil || got != tt.want {
			t.Errorf("numeric or exists:false, %s: %v, %v; want %v", name, got, err, tt.want)
		}
	}
	if ok, _ := matchFilterPolicy(map[string]any{"outcome": []any{"failed"}}, map[string]snsAttribute{"outcome": {Type: "String", Value: "failed"}}); !ok {
		t.Error("exact string filter did not match")
	}
	for _, f := range []map[string]any{
		{"rule": []any{map[string]any{"prefix": "cluster-"}}},
		{"severityLevel": []any{map[string]any{"numeric": []any{"!=", 2.0}}}},
	} {
		if _, err := matchFilterPolicy(f, map[string]snsAttribute{"rule": {Type: "String", Value: "x"}, "severityLevel": {Type: "Number", Value: "2"}}); err == nil ||
			!strings.Contains(err.Error(), "not support") {
			t.Errorf("filter %s: err = %v, want not supported", compactJSON(f), err)
		}
	}
}
