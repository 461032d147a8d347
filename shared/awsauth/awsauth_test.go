package awsauth

import (
	"slices"
	"strings"
	"testing"
)

const nodeRole = "- rolearn: arn:aws:iam::111122223333:role/prod-node-role\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name     string
		data     map[string]string
		mappings []string
		accounts []string
		err      string
	}{
		{name: "roles and users", data: map[string]string{
			KeyRoles: nodeRole + "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev\n  groups: [system:masters]\n",
			KeyUsers: "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [developers]\n",
		}, mappings: []string{
			`arn:aws:iam::111122223333:role/prod-node-role -> user "system:node:{{EC2PrivateDNSName}}" groups [system:bootstrappers, system:nodes]`,
			`arn:aws:iam::111122223333:role/dev -> user "dev" groups [system:masters]`,
			`arn:aws:iam::111122223333:user/alice -> user "alice" groups [developers]`,
		}},
		{name: "accounts", data: map[string]string{KeyAccounts: "- \"444455556666\"\n"}, accounts: []string{"444455556666"}},
		{name: "empty", data: map[string]string{KeyRoles: "  \n"}},
		{name: "misspelt key", data: map[string]string{KeyRoles: "- rolearn: arn:aws:iam::111122223333:role/dev\n  user-name: dev\n  groups: [system:masters]\n"}, err: "mapRoles"},
		{name: "no rolearn", data: map[string]string{KeyRoles: "- username: dev\n  groups: [system:masters]\n"}, err: "mapRoles[0]: no rolearn"},
		{name: "not an ARN", data: map[string]string{KeyUsers: "- userarn: alice\n  username: alice\n"}, err: `mapUsers[0]: userarn "alice" is not an ARN`},
		{name: "groups not a list", data: map[string]string{KeyRoles: "- rolearn: arn:aws:iam::111122223333:role/dev\n  groups: system:masters\n"}, err: "mapRoles"},
		{name: "not YAML", data: map[string]string{KeyRoles: "- rolearn: [\n"}, err: "mapRoles"},
		{name: "a tag where a list is due (the YAML library panics on it)", data: map[string]string{KeyUsers: "! 00"}, err: "mapUsers: the YAML decoder failed on it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(c.data)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range cfg.Mappings {
				got = append(got, m.String())
			}
			if !slices.Equal(got, c.mappings) {
				t.Errorf("got mappings %q, want %q", got, c.mappings)
			}
			if !slices.Equal(cfg.Accounts, c.accounts) {
				t.Errorf("got accounts %q, want %q", cfg.Accounts, c.accounts)
			}
		})
	}
}

func TestAdded(t *testing.T) {
	prev, err := Parse(map[string]string{KeyRoles: nodeRole, KeyAccounts: "- \"111122223333\"\n"})
	if err != nil {
		t.Fatal(err)
	}
	next, err := Parse(map[string]string{
		KeyRoles:    nodeRole + "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev\n  groups: [system:masters]\n",
		KeyAccounts: "- \"111122223333\"\n- \"444455556666\"\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := Added(&prev, next)
	if len(got) != 1 || got[0].ARN != "arn:aws:iam::111122223333:role/dev" {
		t.Errorf("got added %v, want only the dev role", got)
	}
	if got := Added(nil, next); len(got) != 2 {
		t.Errorf("without the old mappings got %d added, want all 2", len(got))
	}
	if got := AddedAccounts(&prev, next); !slices.Equal(got, []string{"444455556666"}) {
		t.Errorf("got added accounts %v, want [444455556666]", got)
	}
	// A mapping whose groups changed counts as added.
	moved, _ := Parse(map[string]string{KeyRoles: strings.Replace(nodeRole, "system:nodes", "system:masters", 1)})
	if got := Added(&prev, moved); len(got) != 1 {
		t.Errorf("got %d added for a mapping whose groups changed, want 1", len(got))
	}
}

func TestDecodeObject(t *testing.T) {
	cm, ok, err := DecodeObject([]byte(`{"kind":"ConfigMap","metadata":{"name":"aws-auth","namespace":"kube-system"},"data":{"mapRoles":"[]"}}`))
	if err != nil || !ok || cm.Metadata.Name != Name || cm.Data[KeyRoles] != "[]" {
		t.Errorf("got %+v ok=%v err=%v, want the ConfigMap", cm, ok, err)
	}
	if _, ok, err := DecodeObject([]byte(`{"kind":"Status"}`)); ok || err != nil {
		t.Errorf("a Status: got ok=%v err=%v, want not ok, no error", ok, err)
	}
	if _, _, err := DecodeObject([]byte(`{"kind":`)); err == nil {
		t.Error("malformed JSON: got no error")
	}
}
