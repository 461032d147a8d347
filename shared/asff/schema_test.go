package asff

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// schema is the subset of JSON Schema testdata/asff.schema.json uses.
type schema struct {
	Type                 string             `json:"type"`
	Required             []string           `json:"required"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	PropertyNames        *schema            `json:"propertyNames"`
	Enum                 []string           `json:"enum"`
	Const                *string            `json:"const"`
	Pattern              string             `json:"pattern"`
	MinLength            *int               `json:"minLength"`
	MaxLength            *int               `json:"maxLength"`
	MinItems             *int               `json:"minItems"`
	MaxItems             *int               `json:"maxItems"`
	MaxProperties        *int               `json:"maxProperties"`
	Items                *schema            `json:"items"`
	Format               string             `json:"format"`
	Ref                  string             `json:"$ref"`
	Definitions          map[string]*schema `json:"definitions"`
}

// known are the keywords the validator implements; loadSchema refuses others.
var known = []string{"$comment", "type", "required", "properties", "additionalProperties", "propertyNames", "enum", "const",
	"pattern", "minLength", "maxLength", "minItems", "maxItems", "maxProperties", "items", "format", "$ref", "definitions"}

func loadSchema(data []byte) (*schema, error) {
	if err := checkKeywords(data, "#"); err != nil {
		return nil, err
	}
	var s schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkKeywords walks the raw schema and rejects a keyword the validator
// would silently ignore.
func checkKeywords(data []byte, path string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil // not a schema object (a boolean additionalProperties)
	}
	for k, v := range m {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%s: keyword %q is not implemented by the test's validator", path, k)
		}
		switch k {
		case "properties", "definitions":
			var sub map[string]json.RawMessage
			if err := json.Unmarshal(v, &sub); err != nil {
				return fmt.Errorf("%s/%s: %w", path, k, err)
			}
			for name, s := range sub {
				if err := checkKeywords(s, path+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case "items", "additionalProperties", "propertyNames":
			if err := checkKeywords(v, path+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks a decoded JSON value against s, returning every violation
// with its path.
func (s *schema) validate(root *schema, v any, path string) []string {
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/definitions/")
		d := root.Definitions[name]
		if !ok || d == nil {
			return []string{fmt.Sprintf("%s: unresolvable $ref %q", path, s.Ref)}
		}
		return d.validate(root, v, path)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("got %T, want an object", v)
			return errs
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				fail("required attribute %s is missing", r)
			}
		}
		if s.MaxProperties != nil && len(obj) > *s.MaxProperties {
			fail("got %d properties, want at most %d", len(obj), *s.MaxProperties)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var extra *schema
		closed := string(s.AdditionalProperties) == "false"
		if len(s.AdditionalProperties) > 0 && !closed {
			extra = new(schema)
			if err := json.Unmarshal(s.AdditionalProperties, extra); err != nil {
				fail("additionalProperties: %v", err)
			}
		}
		for _, k := range keys {
			if s.PropertyNames != nil {
				errs = append(errs, s.PropertyNames.validate(root, k, path+"/"+k+" (name)")...)
			}
			switch sub, ok := s.Properties[k]; {
			case ok:
				errs = append(errs, sub.validate(root, obj[k], path+"/"+k)...)
			case closed:
				fail("attribute %s is not in the format", k)
			case extra != nil:
				errs = append(errs, extra.validate(root, obj[k], path+"/"+k)...)
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("got %T, want an array", v)
			return errs
		}
		if s.MinItems != nil && len(arr) < *s.MinItems {
			fail("got %d items, want at least %d", len(arr), *s.MinItems)
		}
		if s.MaxItems != nil && len(arr) > *s.MaxItems {
			fail("got %d items, want at most %d", len(arr), *s.MaxItems)
		}
		if s.Items != nil {
			for i, item := range arr {
				errs = append(errs, s.Items.validate(root, item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("got %T, want a string", v)
			return errs
		}
		n := utf8.RuneCountInString(str)
		if s.MinLength != nil && n < *s.MinLength {
			fail("got length %d, want at least %d", n, *s.MinLength)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			fail("got length %d, want at most %d", n, *s.MaxLength)
		}
		if s.Const != nil && str != *s.Const {
			fail("got %q, want %q", str, *s.Const)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			fail("got %q, want one of %v", str, s.Enum)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			fail("got %q, want it to match %s", str, s.Pattern)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("got %q, want an RFC 3339 date-time: %v", str, err)
			}
		}
	case "":
	default:
		fail("schema type %q is not implemented by the test's validator", s.Type)
	}
	return errs
}
