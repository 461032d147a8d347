package fastjson

import (
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Name string `json:"name"`
}

type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	if string(b) != "true" && string(b) != "false" {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[flag]()}
	}
	*f = string(b) == "true"
	return nil
}

type outer struct {
	inner
	Items []struct {
		On flag `json:"on"`
	} `json:"items"`
	Tags map[string]struct {
		Count int `json:"count"`
	} `json:"tags"`
}

// TestTypeErrorsNameTheFieldAsEncodingJSON: the field path of a type error
// is encoding/json's, for library and method errors, through embedded
// structs, arrays, maps and keys of another case.
func TestTypeErrorsNameTheFieldAsEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`{"name":{}}`,
		`{"NAME":[1]}`,
		`{"items":[{"on":true},{"on":"yes"}]}`,
		`{"Items":[{"ON":3}]}`,
		`{"tags":{"a":{"count":"x"}}}`,
		`{"tags":{"a":{"COUNT":1.5}}}`,
	} {
		var want, got outer
		wantErr := json.Unmarshal([]byte(raw), &want)
		gotErr := Unmarshal([]byte(raw), &got)
		var wt, gt *json.UnmarshalTypeError
		if !errors.As(wantErr, &wt) || !errors.As(gotErr, &gt) {
			t.Fatalf("%s: got %T %v, want an *json.UnmarshalTypeError like encoding/json's %v", raw, gotErr, gotErr, wantErr)
		}
		if gt.Field != wt.Field || gt.Struct != wt.Struct || gt.Value != wt.Value || gt.Type != wt.Type {
			t.Errorf("%s: got field %q struct %q value %q type %v, want %q %q %q %v", raw,
				gt.Field, gt.Struct, gt.Value, gt.Type, wt.Field, wt.Struct, wt.Value, wt.Type)
		}
	}
}

// TestErrorsAreEncodingJSONs: a rejected input gets encoding/json's error
// word for word, syntax errors included, and on an input with a mismatched
// type before a method's error, the method's error, as encoding/json
// returns it (it decodes past the mismatch and stops at the method).
func TestErrorsAreEncodingJSONs(t *testing.T) {
	for _, raw := range []string{
		`{"name":{},"items":[{"on":"yes"}]}`,
		`{"items":[{"on":1}],"tags":{"a":{"count":"x"}}}`,
		`{"name":"a",`,
		`{"name":"a"}}`,
		`[`,
	} {
		var want, got outer
		wantErr := json.Unmarshal([]byte(raw), &want)
		gotErr := Unmarshal([]byte(raw), &got)
		if wantErr == nil || gotErr == nil || gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: got error %v, want encoding/json's %v", raw, gotErr, wantErr)
		}
	}
	var got outer
	if err := Unmarshal([]byte(`{"name":"a","items":[{"on":true}],"tags":{"b":{"count":2}}}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || len(got.Items) != 1 || !bool(got.Items[0].On) || got.Tags["b"].Count != 2 {
		t.Errorf("decoded %+v", got)
	}
}

// TestFunctionsDoNotLinkIt: the Lambda functions decode with encoding/json;
// fastjson (and its library) is for the CLI only and must not grow them.
func TestFunctionsDoNotLinkIt(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/go-json-experiment/") || strings.HasSuffix(pkg, "/shared/fastjson") {
			t.Errorf("a function links %s", pkg)
		}
	}
	if !strings.Contains(string(out), "encoding/json") {
		t.Fatalf("go list named no encoding/json among the functions' dependencies:\n%s", out)
	}
}
