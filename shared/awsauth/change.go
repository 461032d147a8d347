package awsauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Change is what an update or patch of aws-auth did, as far as the
// audit record tells.
type Change struct {
	// Next are the mappings under the keys the request set; nil when the
	// record carries neither the new object nor a patch of its data.
	Next *Config
	// Prev are the mappings before, under the keys of PrevKeys: a JSON
	// patch's test operations carry them; nil when the record does not.
	Prev     *Config
	PrevKeys []string
	// Err is the mapping that does not parse (new or old).
	Err error
}

// AddedMappings are the mappings the change added, each with whether the record
// shows it was not there before (certain) or cannot tell.
func (c *Change) AddedMappings() (ms []Mapping, certain []bool) {
	if c.Next == nil {
		return nil, nil
	}
	for _, m := range c.Next.Mappings {
		known := c.Prev != nil && slices.Contains(c.PrevKeys, m.Key)
		if known && len(Added(c.Prev, Config{Mappings: []Mapping{m}})) == 0 {
			continue
		}
		ms, certain = append(ms, m), append(certain, known)
	}
	return ms, certain
}

// AddedAccounts are the mapAccounts entries the change may have added.
func (c *Change) AddedAccounts() []string {
	if c.Next == nil {
		return nil
	}
	if c.Prev != nil && slices.Contains(c.PrevKeys, KeyAccounts) {
		return AddedAccounts(c.Prev, *c.Next)
	}
	return c.Next.Accounts
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// Read reads an update or patch of aws-auth from its audit record's
// request and response objects: the ConfigMap in the response (EKS logs aws-auth writes at RequestResponse level) or in the
// request of an update; else the request's patch: a merge patch's data, or
// a JSON patch's add and replace operations. A JSON patch's test
// operations give the old values of their keys.
func Read(request, response json.RawMessage) *Change {
	ch := &Change{}
	var ops []patchOp
	jsonPatch := json.Unmarshal(request, &ops) == nil && len(ops) > 0
	next, prev := map[string]string{}, map[string]string{}
	if jsonPatch {
		for _, o := range ops {
			key, ok := strings.CutPrefix(o.Path, "/data/")
			if !ok || o.Op == "remove" {
				continue
			}
			var v string
			if err := json.Unmarshal(o.Value, &v); err != nil {
				return &Change{Err: fmt.Errorf("JSON patch %s %s: value is not a string", o.Op, o.Path)}
			}
			switch o.Op {
			case "add", "replace":
				next[key] = v
			case "test":
				prev[key] = v
			}
		}
	}
	switch raw := configMapOf(response, request); {
	case raw != nil:
		cm, _, err := DecodeObject(raw)
		if err != nil {
			return &Change{Err: err}
		}
		next = cm.Data
	case !jsonPatch:
		var merge struct {
			Data map[string]string `json:"data"`
		}
		if json.Unmarshal(request, &merge) != nil || merge.Data == nil {
			return ch
		}
		next = merge.Data
	}
	nc, err := Parse(next)
	ch.Next, ch.Err = &nc, err
	if len(prev) > 0 {
		if pc, err := Parse(prev); err == nil {
			ch.Prev = &pc
			for k := range prev {
				ch.PrevKeys = append(ch.PrevKeys, k)
			}
		}
	}
	return ch
}

// configMapOf is the first of the objects that is a ConfigMap (the
// response at RequestResponse level, or the request of an update), or nil.
func configMapOf(objects ...json.RawMessage) json.RawMessage {
	for _, raw := range objects {
		if _, ok, _ := DecodeObject(raw); ok {
			return raw
		}
	}
	return nil
}
