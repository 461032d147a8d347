package awsauth

import (
	"encoding/json"
	"testing"
)

// FuzzRead: whatever the audit record's request and response hold, Read
// returns a change (mappings, an error, or neither) and never panics; a
// change it reports added mappings for has new mappings.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"data":{"mapRoles":"- rolearn: arn:aws:iam::111122223333:role/dev\n  groups: [system:masters]\n"}}`), []byte(`{}`))
	f.Add([]byte(`[{"op":"test","path":"/data/mapRoles","value":"[]"},{"op":"replace","path":"/data/mapRoles","value":"- rolearn: x"}]`), []byte(`null`))
	f.Add([]byte(`{"kind":"DeleteOptions"}`), []byte(`{"kind":"ConfigMap","data":{"mapUsers":"- userarn: arn:aws:iam::1:user/a\n","mapAccounts":"- \"1\"\n"}}`))
	f.Fuzz(func(t *testing.T, request, response []byte) {
		c := Read(json.RawMessage(request), json.RawMessage(response))
		if c == nil {
			t.Fatal("Read returned nil")
		}
		ms, certain := c.AddedMappings()
		if len(ms) != len(certain) || (len(ms) > 0 && c.Next == nil) {
			t.Errorf("added %d mappings (%d certain) with next %v", len(ms), len(certain), c.Next)
		}
		_ = c.AddedAccounts()
	})
}
