// Package strictyaml decodes YAML strictly (an unknown key is an error) with
// github.com/goccy/go-yaml, and turns the panics that library raises on some
// malformed documents (a tag on a scalar where a list is due: `admins: ! 00`,
// found by fuzzing) into errors. Everything eksguard reads as YAML (the
// policy file, aws-auth's mappings) goes through it, so bad input is an error
// that names it, never a crash.
package strictyaml

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Unmarshal decodes data into v; keys v has no field for are errors.
func Unmarshal(data []byte, v any) (err error) {
	defer recovered(&err)
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
}

// Parse parses data into the library's syntax tree (for line numbers).
func Parse(data []byte) (f *ast.File, err error) {
	defer recovered(&err)
	return parser.ParseBytes(data, 0)
}

// Find is the node at a YAML path ("$.rules.'x'") in a parsed document.
// The library panics on some malformed paths, which keys taken from the
// document can make (a key "0[0:"): that is an error too.
func Find(f *ast.File, path string) (n ast.Node, err error) {
	defer recovered(&err)
	p, err := yaml.PathString(path)
	if err != nil {
		return nil, err
	}
	return p.FilterFile(f)
}

func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("the YAML decoder failed on it: %v", r)
	}
}
