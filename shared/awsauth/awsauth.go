// Package awsauth reads the aws-auth ConfigMap (kube-system/aws-auth) that
// EKS clusters in CONFIG_MAP or API_AND_CONFIG_MAP authentication mode use
// to map IAM roles and users to Kubernetes users and groups. Its data
// values mapRoles, mapUsers and mapAccounts are YAML documents inside the
// ConfigMap; they are parsed strictly, so that a mapping the authenticator
// would read differently (or not at all) is an error, not skipped.
package awsauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/strictyaml"
	"github.com/goccy/go-yaml"
)

// Name and Namespace of the ConfigMap.
const (
	Name      = "aws-auth"
	Namespace = "kube-system"
)

// The ConfigMap data keys.
const (
	KeyRoles    = "mapRoles"
	KeyUsers    = "mapUsers"
	KeyAccounts = "mapAccounts"
)

// Mapping maps an IAM role or user to a Kubernetes user and groups.
type Mapping struct {
	// Key is the data key the mapping is under (mapRoles or mapUsers).
	Key string `yaml:"-"`
	// ARN is the rolearn or userarn.
	ARN      string   `yaml:"-"`
	Username string   `yaml:"username"`
	Groups   []string `yaml:"groups"`
}

func (m Mapping) String() string {
	return fmt.Sprintf("%s -> user %q groups [%s]", m.ARN, m.Username, strings.Join(m.Groups, ", "))
}

// role and user are the entries as the authenticator reads them.
type role struct {
	RoleARN  string         `yaml:"rolearn"`
	Username string         `yaml:"username"`
	Groups   []string       `yaml:"groups"`
	SSO      map[string]any `yaml:"sso"`
}

type user struct {
	UserARN  string   `yaml:"userarn"`
	Username string   `yaml:"username"`
	Groups   []string `yaml:"groups"`
}

// Config is what the ConfigMap maps.
type Config struct {
	Mappings []Mapping
	Accounts []string
}

// ConfigMap is the part of a ConfigMap object the package reads.
type ConfigMap struct {
	Kind     string            `json:"kind"`
	Metadata metadata          `json:"metadata"`
	Data     map[string]string `json:"data"`
}

type metadata struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// DecodeObject reads a ConfigMap object (JSON, as the audit log records
// requestObject and responseObject). It reports ok=false, without error,
// for an object that is not a ConfigMap with data (a patch, a Status).
func DecodeObject(raw json.RawMessage) (cm *ConfigMap, ok bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	var c ConfigMap
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, false, fmt.Errorf("decode ConfigMap: %w", err)
	}
	if c.Kind != "ConfigMap" {
		return nil, false, nil
	}
	return &c, true, nil
}

// Parse reads the mappings of a ConfigMap's data. Every error names the
// key and the entry; the mappings that did parse are returned beside it.
func Parse(data map[string]string) (Config, error) {
	var c Config
	var errs []error
	if s := data[KeyRoles]; strings.TrimSpace(s) != "" {
		var rs []role
		if err := strictyaml.Unmarshal([]byte(s), &rs); err != nil {
			errs = append(errs, yamlError(KeyRoles, err))
		}
		for i, r := range rs {
			switch {
			case r.RoleARN == "" && r.SSO == nil:
				errs = append(errs, fmt.Errorf("%s[%d]: no rolearn", KeyRoles, i))
			case r.RoleARN != "" && !strings.HasPrefix(r.RoleARN, "arn:"):
				errs = append(errs, fmt.Errorf("%s[%d]: rolearn %q is not an ARN", KeyRoles, i, r.RoleARN))
			}
			arn := r.RoleARN
			if arn == "" {
				arn = fmt.Sprintf("sso:%v", r.SSO)
			}
			c.Mappings = append(c.Mappings, Mapping{Key: KeyRoles, ARN: arn, Username: r.Username, Groups: r.Groups})
		}
	}
	if s := data[KeyUsers]; strings.TrimSpace(s) != "" {
		var us []user
		if err := strictyaml.Unmarshal([]byte(s), &us); err != nil {
			errs = append(errs, yamlError(KeyUsers, err))
		}
		for i, u := range us {
			if !strings.HasPrefix(u.UserARN, "arn:") {
				errs = append(errs, fmt.Errorf("%s[%d]: userarn %q is not an ARN", KeyUsers, i, u.UserARN))
			}
			c.Mappings = append(c.Mappings, Mapping{Key: KeyUsers, ARN: u.UserARN, Username: u.Username, Groups: u.Groups})
		}
	}
	if s := data[KeyAccounts]; strings.TrimSpace(s) != "" {
		if err := strictyaml.Unmarshal([]byte(s), &c.Accounts); err != nil {
			errs = append(errs, yamlError(KeyAccounts, err))
		}
	}
	return c, errors.Join(errs...)
}

// Added lists the mappings of next that prev does not have (same key,
// ARN, user name and groups), in next's order; with prev nil, all of them.
func Added(prev *Config, next Config) []Mapping {
	if prev == nil {
		return slices.Clone(next.Mappings)
	}
	var out []Mapping
	for _, m := range next.Mappings {
		if !slices.ContainsFunc(prev.Mappings, func(p Mapping) bool { return same(p, m) }) {
			out = append(out, m)
		}
	}
	return out
}

// AddedAccounts lists the accounts of next that prev does not have.
func AddedAccounts(prev *Config, next Config) []string {
	if prev == nil {
		return slices.Clone(next.Accounts)
	}
	var out []string
	for _, a := range next.Accounts {
		if !slices.Contains(prev.Accounts, a) {
			out = append(out, a)
		}
	}
	return out
}

func same(a, b Mapping) bool {
	return a.Key == b.Key && a.ARN == b.ARN && a.Username == b.Username && slices.Equal(a.Groups, b.Groups)
}

// yamlError is the YAML library's error on one data key, on one line: the
// library's own message quotes the source over several.
func yamlError(key string, err error) error {
	return fmt.Errorf("%s: %s", key, strings.Join(strings.Fields(yaml.FormatError(err, false, false)), " "))
}
