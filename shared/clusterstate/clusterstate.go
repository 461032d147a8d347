// Package clusterstate is what a scan reads about one EKS cluster, as plain
// values: the snapshot the rules' state forms judge. It holds no AWS types,
// so the rules do not link the SDK.
package clusterstate

// Cluster is one cluster as DescribeCluster and the list/describe calls
// around it show it, with the IAM roles it uses.
type Cluster struct {
	Account string
	Region  string
	Name    string
	ARN     string
	// RoleARN is the cluster (service) role.
	RoleARN string

	EndpointPublicAccess  bool
	EndpointPrivateAccess bool
	PublicAccessCIDRs     []string
	// LogTypes are the control-plane log types and whether each is enabled.
	LogTypes map[string]bool
	// AuthenticationMode is accessConfig.authenticationMode.
	AuthenticationMode string
	// BootstrapCreatorAdmin is accessConfig.bootstrapClusterCreatorAdminPermissions,
	// nil where DescribeCluster does not report it.
	BootstrapCreatorAdmin *bool
	// SecretsKeyARN is the KMS key of the secrets encryption config; empty
	// when secrets are not encrypted with a key of the account's.
	SecretsKeyARN string
	// DeletionProtection is nil where DescribeCluster does not report it.
	DeletionProtection *bool
	// AutoMode is computeConfig.enabled; AutoModeNodeRoleARN its nodeRoleArn.
	AutoMode            bool
	AutoModeNodeRoleARN string
	RemoteNodeNetworks  []string
	RemotePodNetworks   []string

	AccessEntries     []AccessEntry
	PodIdentities     []PodIdentity
	IdentityProviders []IdentityProvider
	Nodegroups        []Nodegroup
	// Roles are the IAM roles the cluster uses (cluster role, node roles,
	// pod identity roles of the cluster's account), by ARN.
	Roles map[string]*Role
}

// AccessEntry is one access entry with its associated access policies.
type AccessEntry struct {
	PrincipalARN     string
	Type             string
	Username         string
	KubernetesGroups []string
	Policies         []AccessPolicy
}

// AccessPolicy is one access policy associated with an access entry.
type AccessPolicy struct {
	PolicyARN string
	// ScopeType is "cluster" or "namespace".
	ScopeType  string
	Namespaces []string
}

// PodIdentity is one pod identity association.
type PodIdentity struct {
	AssociationID  string
	Namespace      string
	ServiceAccount string
	RoleARN        string
	TargetRoleARN  string
}

// IdentityProvider is one identity provider config (OIDC).
type IdentityProvider struct {
	Name          string
	Type          string
	IssuerURL     string
	ClientID      string
	UsernameClaim string
	GroupsClaim   string
	GroupsPrefix  string
}

// Nodegroup is one managed node group.
type Nodegroup struct {
	Name                 string
	NodeRoleARN          string
	AMIType              string
	EC2SSHKey            string
	SourceSecurityGroups []string
}

// Role is an IAM role as IAM lists it.
type Role struct {
	ARN  string
	Name string
	// AttachedPolicies are the ARNs of the attached managed policies.
	AttachedPolicies []string
	// InlinePolicies are the names of the inline policies.
	InlinePolicies []string
	// TrustPolicy is the trust policy document, decoded from GetRole's
	// URL-encoded form.
	TrustPolicy string
}

// Role kinds, as the cluster uses a role.
const (
	ClusterRole = "cluster"
	NodeRole    = "node"
)

// RoleUses lists the roles the cluster uses as its cluster role or as a
// node role (Auto Mode and managed node groups), each once, in order, with
// the kind of use.
func (c *Cluster) RoleUses() []RoleUse {
	var out []RoleUse
	add := func(arn, kind string) {
		if arn == "" {
			return
		}
		for _, u := range out {
			if u.ARN == arn && u.Kind == kind {
				return
			}
		}
		out = append(out, RoleUse{ARN: arn, Kind: kind})
	}
	add(c.RoleARN, ClusterRole)
	add(c.AutoModeNodeRoleARN, NodeRole)
	for _, ng := range c.Nodegroups {
		add(ng.NodeRoleARN, NodeRole)
	}
	return out
}

// RoleUse is a role and how the cluster uses it.
type RoleUse struct {
	ARN  string
	Kind string
}

// HasEntry reports whether some access entry is for the principal.
func (c *Cluster) HasEntry(principalARN string) bool {
	for _, e := range c.AccessEntries {
		if e.PrincipalARN == principalARN {
			return true
		}
	}
	return false
}
