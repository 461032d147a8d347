package awsfake

import (
	"fmt"
	"math/big"
	"strings"
	"unicode"
)

// evaluator interprets the subset of DynamoDB expressions the fake supports.
type evaluator struct {
	names  map[string]string
	values map[string]any
	toks   []string
	pos    int
}

func tokenize(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case strings.ContainsRune("(),.=", c):
			out = append(out, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				out = append(out, s[i:i+2])
				i += 2
			} else {
				out = append(out, string(c))
				i++
			}
		case c == '#' || c == ':' || c == '_' || unicode.IsLetter(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return out, nil
}

func (e *evaluator) start(s string) error {
	toks, err := tokenize(s)
	e.toks, e.pos = toks, 0
	return err
}

func (e *evaluator) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *evaluator) next() string {
	t := e.peek()
	e.pos++
	return t
}

func (e *evaluator) expect(t string) error {
	if got := e.next(); got != t {
		return fmt.Errorf("want %q, got %q", t, got)
	}
	return nil
}

// path reads name(.name)* and resolves #aliases.
func (e *evaluator) path() ([]string, error) {
	var p []string
	for {
		t := e.next()
		switch {
		case strings.HasPrefix(t, "#"):
			n, ok := e.names[t]
			if !ok {
				return nil, fmt.Errorf("undefined name %s", t)
			}
			p = append(p, n)
		case t != "" && (unicode.IsLetter(rune(t[0])) || t[0] == '_'):
			p = append(p, t)
		default:
			return nil, fmt.Errorf("want an attribute path, got %q", t)
		}
		if e.peek() != "." {
			return p, nil
		}
		e.next()
	}
}

func (e *evaluator) value() (any, error) {
	t := e.next()
	v, ok := e.values[t]
	if !strings.HasPrefix(t, ":") || !ok {
		return nil, fmt.Errorf("undefined value %q", t)
	}
	return v, nil
}

func get(item Item, p []string) (any, bool) {
	var cur any = map[string]any(item)
	for i, n := range p {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if i > 0 { // inside a map attribute
			inner, ok := m["M"].(map[string]any)
			if !ok {
				return nil, false
			}
			m = inner
		}
		cur, ok = m[n]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func set(item Item, p []string, v any) error {
	m := map[string]any(item)
	for i, n := range p[:len(p)-1] {
		next, ok := m[n].(map[string]any)
		if !ok {
			return fmt.Errorf("path %s: %s is not a map", strings.Join(p, "."), strings.Join(p[:i+1], "."))
		}
		inner, ok := next["M"].(map[string]any)
		if !ok {
			return fmt.Errorf("path %s: %s is not a map", strings.Join(p, "."), strings.Join(p[:i+1], "."))
		}
		m = inner
	}
	m[p[len(p)-1]] = v
	return nil
}

func remove(item Item, p []string) {
	if len(p) == 1 {
		delete(item, p[0])
		return
	}
	parent, ok := get(item, p[:len(p)-1])
	if !ok {
		return
	}
	if m, ok := parent.(map[string]any)["M"].(map[string]any); ok {
		delete(m, p[len(p)-1])
	}
}

// condition evaluates a condition expression against the item (nil when absent).
func (e *evaluator) condition(expr string, item Item) (bool, error) {
	if err := e.start(expr); err != nil {
		return false, err
	}
	ok, err := e.or(item)
	if err == nil && e.pos != len(e.toks) {
		err = fmt.Errorf("unexpected %q", e.peek())
	}
	return ok, err
}

func (e *evaluator) or(item Item) (bool, error) {
	v, err := e.and(item)
	for err == nil && strings.EqualFold(e.peek(), "OR") {
		e.next()
		var r bool
		r, err = e.and(item)
		v = v || r
	}
	return v, err
}

func (e *evaluator) and(item Item) (bool, error) {
	v, err := e.unary(item)
	for err == nil && strings.EqualFold(e.peek(), "AND") {
		e.next()
		var r bool
		r, err = e.unary(item)
		v = v && r
	}
	return v, err
}

func (e *evaluator) unary(item Item) (bool, error) {
	switch t := e.peek(); {
	case strings.EqualFold(t, "NOT"):
		e.next()
		v, err := e.unary(item)
		return !v, err
	case t == "(":
		e.next()
		v, err := e.or(item)
		if err != nil {
			return false, err
		}
		return v, e.expect(")")
	case t == "attribute_exists" || t == "attribute_not_exists":
		e.next()
		if err := e.expect("("); err != nil {
			return false, err
		}
		p, err := e.path()
		if err != nil {
			return false, err
		}
		if err := e.expect(")"); err != nil {
			return false, err
		}
		_, found := get(item, p)
		return found == (t == "attribute_exists"), nil
	}
	left, lok, err := e.operand(item)
	if err != nil {
		return false, err
	}
	op := e.next()
	right, rok, err := e.operand(item)
	if err != nil {
		return false, err
	}
	if !lok || !rok {
		return false, nil // comparisons with a missing attribute are false
	}
	c, comparable := compare(left, right)
	switch op {
	case "=":
		return comparable && c == 0, nil
	case "<>":
		return !comparable || c != 0, nil
	case "<":
		return comparable && c < 0, nil
	case "<=":
		return comparable && c <= 0, nil
	case ">":
		return comparable && c > 0, nil
	case ">=":
		return comparable && c >= 0, nil
	}
	return false, fmt.Errorf("unknown comparator %q", op)
}

// operand reads a :value or an attribute path; ok is false for a missing attribute.
func (e *evaluator) operand(item Item) (any, bool, error) {
	if strings.HasPrefix(e.peek(), ":") {
		v, err := e.value()
		return v, true, err
	}
	p, err := e.path()
	if err != nil {
		return nil, false, err
	}
	v, ok := get(item, p)
	return v, ok, nil
}

// compare orders two attribute values of the same scalar type.
func compare(a, b any) (int, bool) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return 0, false
	}
	if as, ok := am["S"].(string); ok {
		bs, ok := bm["S"].(string)
		return strings.Compare(as, bs), ok
	}
	if an, ok := am["N"].(string); ok {
		bn, ok := bm["N"].(string)
		if !ok {
			return 0, false
		}
		x, okx := new(big.Rat).SetString(an)
		y, oky := new(big.Rat).SetString(bn)
		if !okx || !oky {
			return 0, false
		}
		return x.Cmp(y), true
	}
	if ab, ok := am["BOOL"].(bool); ok {
		bb, ok := bm["BOOL"].(bool)
		if ab == bb {
			return 0, ok
		}
		return 1, ok
	}
	return 0, false
}

// update applies an update expression to item and returns the top-level
// attributes it touched.
func (e *evaluator) update(expr string, item Item) ([]string, error) {
	if err := e.start(expr); err != nil {
		return nil, err
	}
	var touched []string
	for e.pos < len(e.toks) {
		clause := strings.ToUpper(e.next())
		for {
			p, err := e.path()
			if err != nil {
				return nil, err
			}
			touched = append(touched, p[0])
			switch clause {
			case "SET":
				if err := e.expect("="); err != nil {
					return nil, err
				}
				v, err := e.setOperand(item)
				if err != nil {
					return nil, err
				}
				if err := set(item, p, v); err != nil {
					return nil, err
				}
			case "REMOVE":
				remove(item, p)
			case "ADD":
				v, err := e.value()
				if err != nil {
					return nil, err
				}
				cur, ok := get(item, p)
				if !ok {
					cur = map[string]any{"N": "0"}
				}
				sum, err := addNumbers(cur, v)
				if err != nil {
					return nil, err
				}
				if err := set(item, p, sum); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("unsupported clause %q", clause)
			}
			if e.peek() != "," {
				break
			}
			e.next()
		}
	}
	return touched, nil
}

func (e *evaluator) setOperand(item Item) (any, error) {
	if e.peek() == "list_append" {
		// list_append(list1, list2): a new list, list1's elements then list2's.
		e.next()
		if err := e.expect("("); err != nil {
			return nil, err
		}
		a, err := e.setOperand(item)
		if err != nil {
			return nil, err
		}
		if err := e.expect(","); err != nil {
			return nil, err
		}
		b, err := e.setOperand(item)
		if err != nil {
			return nil, err
		}
		if err := e.expect(")"); err != nil {
			return nil, err
		}
		la, aok := listOf(a)
		lb, bok := listOf(b)
		if !aok || !bok {
			return nil, fmt.Errorf("list_append needs two lists, got %v and %v", a, b)
		}
		return map[string]any{"L": append(append([]any{}, la...), lb...)}, nil
	}
	if e.peek() == "if_not_exists" {
		e.next()
		if err := e.expect("("); err != nil {
			return nil, err
		}
		p, err := e.path()
		if err != nil {
			return nil, err
		}
		if err := e.expect(","); err != nil {
			return nil, err
		}
		v, err := e.value()
		if err != nil {
			return nil, err
		}
		if err := e.expect(")"); err != nil {
			return nil, err
		}
		if cur, ok := get(item, p); ok {
			return cur, nil
		}
		return v, nil
	}
	v, ok, err := e.operand(item)
	if err == nil && !ok {
		err = fmt.Errorf("the operand refers to a missing attribute")
	}
	return v, err
}

func listOf(v any) ([]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	l, ok := m["L"].([]any)
	return l, ok
}

func addNumbers(a, b any) (any, error) {
	as := scalar(a, "N")
	bs := scalar(b, "N")
	x, okx := new(big.Rat).SetString(as)
	y, oky := new(big.Rat).SetString(bs)
	if !okx || !oky {
		return nil, fmt.Errorf("ADD needs numbers, got %v and %v", a, b)
	}
	return map[string]any{"N": new(big.Rat).Add(x, y).RatString()}, nil
}
