package awsfake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/glob"
)

// Statement is one statement of an identity-based policy, with every
// CloudFormation reference already resolved to a string.
type Statement struct {
	Sid          string
	Effect       string // Allow or Deny
	Actions      []string
	NotActions   []string
	Resources    []string
	NotResources []string
	// Condition is operator -> condition key -> values, as in the policy
	// document.
	Condition map[string]map[string][]string
}

// Request is what one API call asks IAM to authorize: the action
// ("eks:DescribeCluster"), the resource ARN it acts on ("*" for actions
// without resource-level permissions) and the request context's condition
// keys.
type Request struct {
	Action   string
	Resource string
	Context  map[string][]string
}

// Decision is the outcome of evaluating identity policies for a request.
type Decision struct {
	Allowed bool
	// Reason says which statement allowed or denied the call, or that none
	// allowed it.
	Reason string
}

// Evaluate applies the identity-policy part of IAM's evaluation logic (no
// resource policies, boundaries, SCPs or session policies exist in the
// fakes' account): an explicit Deny wins, otherwise an Allow whose action,
// resource and conditions all match allows, otherwise the request is
// implicitly denied. A condition operator Evaluate does not implement is an
// error, never a silent match or mismatch.
func Evaluate(policy []Statement, req Request) (Decision, error) {
	allow := ""
	for i, st := range policy {
		ok, err := st.applies(req)
		if err != nil {
			return Decision{}, fmt.Errorf("statement %s: %w", st.name(i), err)
		}
		if !ok {
			continue
		}
		switch st.Effect {
		case "Deny":
			return Decision{Reason: "explicitly denied by statement " + st.name(i)}, nil
		case "Allow":
			if allow == "" {
				allow = st.name(i)
			}
		default:
			return Decision{}, fmt.Errorf("statement %s: effect %q is neither Allow nor Deny", st.name(i), st.Effect)
		}
	}
	if allow == "" {
		return Decision{Reason: "no identity-based policy allows the " + req.Action + " action"}, nil
	}
	return Decision{Allowed: true, Reason: "allowed by statement " + allow}, nil
}

// Validate checks a policy before it is enforced: known effects, an action
// and a resource element in each statement, and only condition operators
// Evaluate implements.
func Validate(policy []Statement) error {
	for i, st := range policy {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return fmt.Errorf("statement %s: effect %q is neither Allow nor Deny", st.name(i), st.Effect)
		}
		if (len(st.Actions) == 0) == (len(st.NotActions) == 0) {
			return fmt.Errorf("statement %s: want exactly one of Action and NotAction", st.name(i))
		}
		if (len(st.Resources) == 0) == (len(st.NotResources) == 0) {
			return fmt.Errorf("statement %s: want exactly one of Resource and NotResource", st.name(i))
		}
		for op := range st.Condition {
			if _, err := parseOperator(op); err != nil {
				return fmt.Errorf("statement %s: %w", st.name(i), err)
			}
		}
	}
	return nil
}

func (st Statement) name(i int) string {
	if st.Sid != "" {
		return st.Sid
	}
	return fmt.Sprintf("#%d", i+1)
}

func (st Statement) applies(req Request) (bool, error) {
	if len(st.Actions) > 0 && !slices.ContainsFunc(st.Actions, func(p string) bool { return actionMatch(p, req.Action) }) {
		return false, nil
	}
	if len(st.NotActions) > 0 && slices.ContainsFunc(st.NotActions, func(p string) bool { return actionMatch(p, req.Action) }) {
		return false, nil
	}
	if len(st.Resources) > 0 && !slices.ContainsFunc(st.Resources, func(p string) bool { return resourceMatch(p, req.Resource) }) {
		return false, nil
	}
	if len(st.NotResources) > 0 && slices.ContainsFunc(st.NotResources, func(p string) bool { return resourceMatch(p, req.Resource) }) {
		return false, nil
	}
	// Every operator, and within one every key, must hold.
	for op, keys := range st.Condition {
		o, err := parseOperator(op)
		if err != nil {
			return false, err
		}
		for key, want := range keys {
			got, present := contextKey(req.Context, key)
			if !o.holds(got, present, want) {
				return false, nil
			}
		}
	}
	return true, nil
}

// contextKey looks a condition key up; key names are case-insensitive.
func contextKey(ctx map[string][]string, key string) ([]string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// actionMatch compares "service:Action" patterns case-insensitively, with
// the wildcards * and ?.
func actionMatch(pattern, action string) bool {
	return wildcard(strings.ToLower(pattern), strings.ToLower(action))
}

// resourceMatch matches a Resource element against an ARN: "*" matches
// everything; otherwise the six colon-separated parts are compared one by
// one, case-sensitively, each with the wildcards * and ?.
func resourceMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	return arnMatch(pattern, arn)
}

// arnMatch is the matching of ArnLike (and ArnEquals, which IAM evaluates
// the same way): part by part, wildcards within a part.
func arnMatch(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcard(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// wildcard matches s against an IAM pattern: * is any run of characters
// and ? is one character, the semantics of the policy's globs.
func wildcard(pattern, s string) bool { return glob.Match(pattern, s) }

// operator is a parsed condition operator.
type operator struct {
	match    func(want, got string) bool
	negated  bool
	ifExists bool
}

// The operators implemented: the string and ARN families of the IAM policy
// reference, each also with the IfExists suffix. Numeric, date, Boolean,
// binary, IP address, Null and the ForAllValues/ForAnyValue set operators
// are refused.
var operators = map[string]struct {
	match   func(want, got string) bool
	negated bool
}{
	"StringEquals":              {func(w, g string) bool { return w == g }, false},
	"StringNotEquals":           {func(w, g string) bool { return w == g }, true},
	"StringEqualsIgnoreCase":    {strings.EqualFold, false},
	"StringNotEqualsIgnoreCase": {strings.EqualFold, true},
	"StringLike":                {wildcard, false},
	"StringNotLike":             {wildcard, true},
	"ArnEquals":                 {arnMatch, false},
	"ArnLike":                   {arnMatch, false},
	"ArnNotEquals":              {arnMatch, true},
	"ArnNotLike":                {arnMatch, true},
}

func parseOperator(op string) (operator, error) {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	o, ok := operators[base]
	if !ok {
		return operator{}, fmt.Errorf("condition operator %s is not implemented by awsfake (it knows %s, each also ...IfExists)",
			op, strings.Join(sortedNames(operators), ", "))
	}
	return operator{match: o.match, negated: o.negated, ifExists: ifExists}, nil
}

// holds evaluates one key of one operator. Several policy values are
// alternatives (any may match); for a negated operator the key's value must
// match none of them. A key missing from the request makes a positive
// operator false and a negated one true; with IfExists, a missing key is
// true either way.
func (o operator) holds(got []string, present bool, want []string) bool {
	if !present {
		return o.ifExists || o.negated
	}
	// Every key the fakes put in a context is single-valued.
	matched := len(got) == 1 && slices.ContainsFunc(want, func(w string) bool { return o.match(w, got[0]) })
	return matched != o.negated
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
