package cloudtrail

import "bytes"

// clusterRef reads the cluster name, which current records call "name" and
// some older ones "clusterName".
type clusterRef struct {
	Name        string `json:"name"`
	ClusterName string `json:"clusterName"`
}

// Cluster is the cluster the call targets.
func (c clusterRef) Cluster() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ClusterName
}

// AccessEntryParams are the parameters of CreateAccessEntry, UpdateAccessEntry
// and DeleteAccessEntry.
type AccessEntryParams struct {
	clusterRef
	PrincipalARN     string   `json:"principalArn"`
	KubernetesGroups []string `json:"kubernetesGroups"`
	Username         string   `json:"username"`
	Type             string   `json:"type"`
}

// AccessPolicyParams are the parameters of AssociateAccessPolicy and
// DisassociateAccessPolicy.
type AccessPolicyParams struct {
	clusterRef
	PrincipalARN string       `json:"principalArn"`
	PolicyARN    string       `json:"policyArn"`
	AccessScope  *AccessScope `json:"accessScope"`
}

// AccessScope is where an access policy applies.
type AccessScope struct {
	Type       string   `json:"type"` // cluster | namespace
	Namespaces []string `json:"namespaces"`
}

// VPCConfig is the endpoint part of resourcesVpcConfig. Nil pointers mean
// the call did not state the setting.
type VPCConfig struct {
	EndpointPublicAccess  *Bool    `json:"endpointPublicAccess"`
	EndpointPrivateAccess *Bool    `json:"endpointPrivateAccess"`
	PublicAccessCIDRs     []string `json:"publicAccessCidrs"`
	SubnetIDs             []string `json:"subnetIds"`
	SecurityGroupIDs      []string `json:"securityGroupIds"`
}

// Logging is the control-plane logging block.
type Logging struct {
	ClusterLogging []LogSetup `json:"clusterLogging"`
}

// LogSetup enables or disables some log types.
type LogSetup struct {
	Types   []string `json:"types"`
	Enabled *Bool    `json:"enabled"`
}

// Disabled lists the log types the block turns off (enabled: false).
func (l *Logging) Disabled() []string {
	return l.types(false)
}

// Enabled lists the log types the block turns on (enabled: true).
func (l *Logging) Enabled() []string {
	return l.types(true)
}

// Unstated lists the log types of entries without an enabled key. The EKS
// API reference makes enabled optional and states no default, so the call
// alone does not say whether these types are now on or off.
func (l *Logging) Unstated() []string {
	if l == nil {
		return nil
	}
	var out []string
	for _, s := range l.ClusterLogging {
		if s.Enabled == nil {
			out = append(out, s.Types...)
		}
	}
	return out
}

func (l *Logging) types(enabled bool) []string {
	if l == nil {
		return nil
	}
	var out []string
	for _, s := range l.ClusterLogging {
		if s.Enabled != nil && bool(*s.Enabled) == enabled {
			out = append(out, s.Types...)
		}
	}
	return out
}

// AccessConfig is the cluster's authentication configuration.
type AccessConfig struct {
	AuthenticationMode                      string `json:"authenticationMode"`
	BootstrapClusterCreatorAdminPermissions *Bool  `json:"bootstrapClusterCreatorAdminPermissions"`
}

// EncryptionConfig is one envelope-encryption setting.
type EncryptionConfig struct {
	Resources []string `json:"resources"`
	Provider  struct {
		KeyARN string `json:"keyArn"`
	} `json:"provider"`
}

// ComputeConfig is the EKS Auto Mode compute block.
type ComputeConfig struct {
	Enabled     *Bool    `json:"enabled"`
	NodePools   []string `json:"nodePools"`
	NodeRoleARN string   `json:"nodeRoleArn"`
}

// RemoteNetworkConfig is the hybrid-nodes network block: the on-premises
// CIDRs of nodes and pods the cluster accepts.
type RemoteNetworkConfig struct {
	RemoteNodeNetworks []RemoteNetwork `json:"remoteNodeNetworks"`
	RemotePodNetworks  []RemoteNetwork `json:"remotePodNetworks"`
}

// RemoteNetwork is one remote node or pod network.
type RemoteNetwork struct {
	CIDRs []string `json:"cidrs"`
}

// ClusterConfigParams are the parameters of UpdateClusterConfig.
type ClusterConfigParams struct {
	clusterRef
	ResourcesVPCConfig  *VPCConfig           `json:"resourcesVpcConfig"`
	Logging             *Logging             `json:"logging"`
	AccessConfig        *AccessConfig        `json:"accessConfig"`
	DeletionProtection  *Bool                `json:"deletionProtection"`
	ComputeConfig       *ComputeConfig       `json:"computeConfig"`
	RemoteNetworkConfig *RemoteNetworkConfig `json:"remoteNetworkConfig"`
}

// CreateClusterParams are the parameters of CreateCluster.
type CreateClusterParams struct {
	clusterRef
	RoleARN            string             `json:"roleArn"`
	Version            string             `json:"version"`
	ResourcesVPCConfig *VPCConfig         `json:"resourcesVpcConfig"`
	Logging            *Logging           `json:"logging"`
	EncryptionConfig   []EncryptionConfig `json:"encryptionConfig"`
	AccessConfig       *AccessConfig      `json:"accessConfig"`
	DeletionProtection *Bool              `json:"deletionProtection"`
	ComputeConfig      *ComputeConfig     `json:"computeConfig"`
}

// ClusterParams are the parameters of DeleteCluster.
type ClusterParams struct {
	clusterRef
}

// EncryptionParams are the parameters of AssociateEncryptionConfig.
type EncryptionParams struct {
	clusterRef
	EncryptionConfig []EncryptionConfig `json:"encryptionConfig"`
}

// PodIdentityParams are the parameters of CreatePodIdentityAssociation and
// UpdatePodIdentityAssociation (an update names the association, not its
// namespace and service account).
type PodIdentityParams struct {
	clusterRef
	AssociationID  string `json:"associationId"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn"`
	// TargetRoleARN is the role in another account that EKS chains RoleARN to.
	TargetRoleARN string `json:"targetRoleArn"`
}

// IdentityProviderParams are the parameters of AssociateIdentityProviderConfig.
type IdentityProviderParams struct {
	clusterRef
	OIDC *OIDCConfig `json:"oidc"`
}

// OIDCConfig is an OIDC identity provider a cluster trusts for sign-in.
type OIDCConfig struct {
	Name           string            `json:"identityProviderConfigName"`
	IssuerURL      string            `json:"issuerUrl"`
	ClientID       string            `json:"clientId"`
	UsernameClaim  string            `json:"usernameClaim"`
	UsernamePrefix string            `json:"usernamePrefix"`
	GroupsClaim    string            `json:"groupsClaim"`
	GroupsPrefix   string            `json:"groupsPrefix"`
	RequiredClaims map[string]string `json:"requiredClaims"`
}

// NodegroupParams are the parameters of CreateNodegroup.
type NodegroupParams struct {
	clusterRef
	NodegroupName string        `json:"nodegroupName"`
	NodeRole      string        `json:"nodeRole"`
	AMIType       string        `json:"amiType"`
	RemoteAccess  *RemoteAccess `json:"remoteAccess"`
	// LaunchTemplate, when set, carries the SSH settings instead (EKS
	// rejects remoteAccess together with a launch template).
	LaunchTemplate *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"launchTemplate"`
}

// RemoteAccess is a managed node group's SSH access.
type RemoteAccess struct {
	EC2SSHKey            string   `json:"ec2SshKey"`
	SourceSecurityGroups []string `json:"sourceSecurityGroups"`
}

// RolePolicyParams are the parameters of AttachRolePolicy and DetachRolePolicy.
type RolePolicyParams struct {
	RoleName  string `json:"roleName"`
	PolicyARN string `json:"policyArn"`
}

// InlinePolicyParams are the parameters of PutRolePolicy and DeleteRolePolicy.
type InlinePolicyParams struct {
	RoleName       string `json:"roleName"`
	PolicyName     string `json:"policyName"`
	PolicyDocument string `json:"policyDocument"`
}

// TrustPolicyParams are the parameters of UpdateAssumeRolePolicy.
type TrustPolicyParams struct {
	RoleName       string `json:"roleName"`
	PolicyDocument string `json:"policyDocument"`
}

// eventKey names an event: its eventSource and eventName.
type eventKey struct{ source, name string }

// paramDecoders maps each in-scope event to the decoder of its request
// parameters.
var paramDecoders = map[eventKey]func([]byte) (any, error){
	{"eks.amazonaws.com", "CreateAccessEntry"}:               decodeAccessEntry,
	{"eks.amazonaws.com", "UpdateAccessEntry"}:               decodeAccessEntry,
	{"eks.amazonaws.com", "DeleteAccessEntry"}:               decodeAccessEntry,
	{"eks.amazonaws.com", "AssociateAccessPolicy"}:           decodeAccessPolicy,
	{"eks.amazonaws.com", "DisassociateAccessPolicy"}:        decodeAccessPolicy,
	{"eks.amazonaws.com", "UpdateClusterConfig"}:             decodeInto[ClusterConfigParams],
	{"eks.amazonaws.com", "CreateCluster"}:                   decodeInto[CreateClusterParams],
	{"eks.amazonaws.com", "DeleteCluster"}:                   decodeInto[ClusterParams],
	{"eks.amazonaws.com", "AssociateEncryptionConfig"}:       decodeInto[EncryptionParams],
	{"eks.amazonaws.com", "CreatePodIdentityAssociation"}:    decodeInto[PodIdentityParams],
	{"eks.amazonaws.com", "UpdatePodIdentityAssociation"}:    decodeInto[PodIdentityParams],
	{"eks.amazonaws.com", "AssociateIdentityProviderConfig"}: decodeInto[IdentityProviderParams],
	{"eks.amazonaws.com", "CreateNodegroup"}:                 decodeInto[NodegroupParams],
	{"iam.amazonaws.com", "DetachRolePolicy"}:                decodeInto[RolePolicyParams],
	{"iam.amazonaws.com", "AttachRolePolicy"}:                decodeInto[RolePolicyParams],
	{"iam.amazonaws.com", "PutRolePolicy"}:                   decodeInto[InlinePolicyParams],
	{"iam.amazonaws.com", "DeleteRolePolicy"}:                decodeInto[InlinePolicyParams],
	{"iam.amazonaws.com", "UpdateAssumeRolePolicy"}:          decodeInto[TrustPolicyParams],
}

// Decodable reports whether the event has typed request parameters here.
func Decodable(eventSource, eventName string) bool {
	_, ok := decoderFor(eventSource, eventName)
	return ok
}

func decodeInto[T any](raw []byte) (any, error) {
	p := new(T)
	if err := unmarshal(raw, p); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeAccessEntry(raw []byte) (any, error) {
	p := new(AccessEntryParams)
	if err := unmarshal(raw, p); err != nil {
		return nil, err
	}
	var err error
	if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeAccessPolicy(raw []byte) (any, error) {
	p := new(AccessPolicyParams)
	if err := unmarshal(raw, p); err != nil {
		return nil, err
	}
	var err error
	if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
		return nil, err
	}
	if p.PolicyARN, err = unescapeARN("policyArn", p.PolicyARN); err != nil {
		return nil, err
	}
	return p, nil
}

func isNull(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}
