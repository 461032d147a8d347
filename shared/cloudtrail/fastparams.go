package cloudtrail

// Fast-path decoders of the typed request parameters (see scanner). Each
// mirrors the encoding/json tags of its type in params.go.

// fastParams maps each in-scope event to the fast decoder of its
// parameters; it has the same keys as paramDecoders.
var fastParams = map[eventKey]func(*scanner) (any, bool){
	{"eks.amazonaws.com", "CreateAccessEntry"}:            fastAccessEntry,
	{"eks.amazonaws.com", "UpdateAccessEntry"}:            fastAccessEntry,
	{"eks.amazonaws.com", "DeleteAccessEntry"}:            fastAccessEntry,
	{"eks.amazonaws.com", "AssociateAccessPolicy"}:        fastAccessPolicy,
	{"eks.amazonaws.com", "DisassociateAccessPolicy"}:     fastAccessPolicy,
	{"eks.amazonaws.com", "UpdateClusterConfig"}:          fastClusterConfig,
	{"eks.amazonaws.com", "CreateCluster"}:                fastCreateCluster,
	{"eks.amazonaws.com", "DeleteCluster"}:                fastCluster,
	{"eks.amazonaws.com", "AssociateEncryptionConfig"}:    fastEncryption,
	{"eks.amazonaws.com", "CreatePodIdentityAssociation"}: fastPodIdentity,
	{"iam.amazonaws.com", "DetachRolePolicy"}:             fastRolePolicy,
	{"iam.amazonaws.com", "AttachRolePolicy"}:             fastRolePolicy,
	{"iam.amazonaws.com", "PutRolePolicy"}:                fastInlinePolicy,
	{"iam.amazonaws.com", "DeleteRolePolicy"}:             fastInlinePolicy,
	{"iam.amazonaws.com", "UpdateAssumeRolePolicy"}:       fastTrustPolicy,
	{"iam.amazonaws.com", "DetachUserPolicy"}:             fastUserPolicy,
	{"iam.amazonaws.com", "DetachGroupPolicy"}:            fastGroupPolicy,
}

// Key bits shared by the types that embed clusterRef.
const (
	bitName uint32 = 1 << iota
	bitClusterName
	bitNext // first bit free for the embedding type
)

// clusterField decodes the clusterRef keys; handled is false for other keys.
func (s *scanner) clusterField(c *clusterRef, seen *uint32, key string) (handled, ok bool) {
	switch key {
	case "name":
		return true, once(seen, bitName) && s.string(&c.Name)
	case "clusterName":
		return true, once(seen, bitClusterName) && s.string(&c.ClusterName)
	}
	return false, false
}

var accessEntryKeys = []string{"name", "clusterName", "principalArn", "kubernetesGroups", "username", "type"}

func fastAccessEntry(s *scanner) (any, bool) {
	p := new(AccessEntryParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		switch key {
		case "principalArn":
			return once(&seen, bitNext<<0) && s.string(&p.PrincipalARN)
		case "kubernetesGroups":
			return once(&seen, bitNext<<1) && s.strings(&p.KubernetesGroups)
		case "username":
			return once(&seen, bitNext<<2) && s.string(&p.Username)
		case "type":
			return once(&seen, bitNext<<3) && s.string(&p.Type)
		}
		return !folds(key, accessEntryKeys) && s.skip(1)
	})
	if !ok {
		return nil, false
	}
	var err error
	if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
		return nil, false
	}
	return p, true
}

var (
	accessPolicyKeys = []string{"name", "clusterName", "principalArn", "policyArn", "accessScope"}
	accessScopeKeys  = []string{"type", "namespaces"}
)

func fastAccessPolicy(s *scanner) (any, bool) {
	p := new(AccessPolicyParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		switch key {
		case "principalArn":
			return once(&seen, bitNext<<0) && s.string(&p.PrincipalARN)
		case "policyArn":
			return once(&seen, bitNext<<1) && s.string(&p.PolicyARN)
		case "accessScope":
			if !once(&seen, bitNext<<2) {
				return false
			}
			if s.null() {
				p.AccessScope = nil
				return true
			}
			sc := new(AccessScope)
			p.AccessScope = sc
			var seen uint32
			return s.object(1, func(key string) bool {
				switch key {
				case "type":
					return once(&seen, 1<<0) && s.string(&sc.Type)
				case "namespaces":
					return once(&seen, 1<<1) && s.strings(&sc.Namespaces)
				}
				return !folds(key, accessScopeKeys) && s.skip(2)
			})
		}
		return !folds(key, accessPolicyKeys) && s.skip(1)
	})
	if !ok {
		return nil, false
	}
	var err error
	if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
		return nil, false
	}
	if p.PolicyARN, err = unescapeARN("policyArn", p.PolicyARN); err != nil {
		return nil, false
	}
	return p, true
}

var (
	vpcConfigKeys    = []string{"endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs", "subnetIds", "securityGroupIds"}
	loggingKeys      = []string{"clusterLogging"}
	logSetupKeys     = []string{"types", "enabled"}
	accessConfigKeys = []string{"authenticationMode", "bootstrapClusterCreatorAdminPermissions"}
	encryptionKeys   = []string{"resources", "provider"}
	providerKeys     = []string{"keyArn"}
)

func (s *scanner) vpcConfig(dst **VPCConfig, depth int) bool {
	if s.null() {
		*dst = nil
		return true
	}
	v := new(VPCConfig)
	*dst = v
	var seen uint32
	return s.object(depth, func(key string) bool {
		switch key {
		case "endpointPublicAccess":
			return once(&seen, 1<<0) && s.boolPtr(&v.EndpointPublicAccess)
		case "endpointPrivateAccess":
			return once(&seen, 1<<1) && s.boolPtr(&v.EndpointPrivateAccess)
		case "publicAccessCidrs":
			return once(&seen, 1<<2) && s.strings(&v.PublicAccessCIDRs)
		case "subnetIds":
			return once(&seen, 1<<3) && s.strings(&v.SubnetIDs)
		case "securityGroupIds":
			return once(&seen, 1<<4) && s.strings(&v.SecurityGroupIDs)
		}
		return !folds(key, vpcConfigKeys) && s.skip(depth+1)
	})
}

func (s *scanner) logging(dst **Logging, depth int) bool {
	if s.null() {
		*dst = nil
		return true
	}
	l := new(Logging)
	*dst = l
	var seen uint32
	return s.object(depth, func(key string) bool {
		switch key {
		case "clusterLogging":
			if !once(&seen, 1<<0) {
				return false
			}
			if s.null() {
				l.ClusterLogging = nil
				return true
			}
			l.ClusterLogging = []LogSetup{}
			return s.array(depth+1, func() bool {
				if s.ws() != '{' { // null elements and type errors: encoding/json decides
					return false
				}
				var e LogSetup
				var seen uint32
				ok := s.object(depth+2, func(key string) bool {
					switch key {
					case "types":
						return once(&seen, 1<<0) && s.strings(&e.Types)
					case "enabled":
						return once(&seen, 1<<1) && s.boolPtr(&e.Enabled)
					}
					return !folds(key, logSetupKeys) && s.skip(depth+3)
				})
				l.ClusterLogging = append(l.ClusterLogging, e)
				return ok
			})
		}
		return !folds(key, loggingKeys) && s.skip(depth+1)
	})
}

func (s *scanner) accessConfig(dst **AccessConfig, depth int) bool {
	if s.null() {
		*dst = nil
		return true
	}
	a := new(AccessConfig)
	*dst = a
	var seen uint32
	return s.object(depth, func(key string) bool {
		switch key {
		case "authenticationMode":
			return once(&seen, 1<<0) && s.string(&a.AuthenticationMode)
		case "bootstrapClusterCreatorAdminPermissions":
			return once(&seen, 1<<1) && s.boolPtr(&a.BootstrapClusterCreatorAdminPermissions)
		}
		return !folds(key, accessConfigKeys) && s.skip(depth+1)
	})
}

func (s *scanner) encryptionConfigs(dst *[]EncryptionConfig, depth int) bool {
	if s.null() {
		*dst = nil
		return true
	}
	out := []EncryptionConfig{}
	ok := s.array(depth, func() bool {
		if s.ws() != '{' {
			return false
		}
		var e EncryptionConfig
		var seen uint32
		ok := s.object(depth+1, func(key string) bool {
			switch key {
			case "resources":
				return once(&seen, 1<<0) && s.strings(&e.Resources)
			case "provider":
				if !once(&seen, 1<<1) {
					return false
				}
				if s.null() {
					return true
				}
				var seen uint32
				return s.object(depth+2, func(key string) bool {
					if key == "keyArn" {
						return once(&seen, 1<<0) && s.string(&e.Provider.KeyARN)
					}
					return !folds(key, providerKeys) && s.skip(depth+3)
				})
			}
			return !folds(key, encryptionKeys) && s.skip(depth+2)
		})
		out = append(out, e)
		return ok
	})
	*dst = out
	return ok
}

// array walks the array at pos, calling elem with the scanner at each
// element; elem must consume it.
func (s *scanner) array(depth int, elem func() bool) bool {
	if depth >= maxDepth || s.ws() != '[' {
		return false
	}
	s.pos++
	if s.ws() == ']' {
		s.pos++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.ws() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

var clusterConfigKeys = []string{"name", "clusterName", "resourcesVpcConfig", "logging", "accessConfig"}

func fastClusterConfig(s *scanner) (any, bool) {
	p := new(ClusterConfigParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		switch key {
		case "resourcesVpcConfig":
			return once(&seen, bitNext<<0) && s.vpcConfig(&p.ResourcesVPCConfig, 1)
		case "logging":
			return once(&seen, bitNext<<1) && s.logging(&p.Logging, 1)
		case "accessConfig":
			return once(&seen, bitNext<<2) && s.accessConfig(&p.AccessConfig, 1)
		}
		return !folds(key, clusterConfigKeys) && s.skip(1)
	})
	return p, ok
}

var createClusterKeys = []string{"name", "clusterName", "roleArn", "version", "resourcesVpcConfig", "logging", "encryptionConfig", "accessConfig"}

func fastCreateCluster(s *scanner) (any, bool) {
	p := new(CreateClusterParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		switch key {
		case "roleArn":
			return once(&seen, bitNext<<0) && s.string(&p.RoleARN)
		case "version":
			return once(&seen, bitNext<<1) && s.string(&p.Version)
		case "resourcesVpcConfig":
			return once(&seen, bitNext<<2) && s.vpcConfig(&p.ResourcesVPCConfig, 1)
		case "logging":
			return once(&seen, bitNext<<3) && s.logging(&p.Logging, 1)
		case "encryptionConfig":
			return once(&seen, bitNext<<4) && s.encryptionConfigs(&p.EncryptionConfig, 1)
		case "accessConfig":
			return once(&seen, bitNext<<5) && s.accessConfig(&p.AccessConfig, 1)
		}
		return !folds(key, createClusterKeys) && s.skip(1)
	})
	return p, ok
}

var clusterKeys = []string{"name", "clusterName"}

func fastCluster(s *scanner) (any, bool) {
	p := new(ClusterParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		return !folds(key, clusterKeys) && s.skip(1)
	})
	return p, ok
}

var encryptionParamsKeys = []string{"name", "clusterName", "encryptionConfig"}

func fastEncryption(s *scanner) (any, bool) {
	p := new(EncryptionParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		if key == "encryptionConfig" {
			return once(&seen, bitNext) && s.encryptionConfigs(&p.EncryptionConfig, 1)
		}
		return !folds(key, encryptionParamsKeys) && s.skip(1)
	})
	return p, ok
}

var podIdentityKeys = []string{"name", "clusterName", "namespace", "serviceAccount", "roleArn"}

func fastPodIdentity(s *scanner) (any, bool) {
	p := new(PodIdentityParams)
	var seen uint32
	ok := s.object(0, func(key string) bool {
		if handled, ok := s.clusterField(&p.clusterRef, &seen, key); handled {
			return ok
		}
		switch key {
		case "namespace":
			return once(&seen, bitNext<<0) && s.string(&p.Namespace)
		case "serviceAccount":
			return once(&seen, bitNext<<1) && s.string(&p.ServiceAccount)
		case "roleArn":
			return once(&seen, bitNext<<2) && s.string(&p.RoleARN)
		}
		return !folds(key, podIdentityKeys) && s.skip(1)
	})
	return p, ok
}

// stringFields decodes an object whose decoded fields are all strings:
// names[i] goes to dst[i].
func (s *scanner) stringFields(names []string, dst ...*string) bool {
	var seen uint32
	return s.object(0, func(key string) bool {
		for i, n := range names {
			if key == n {
				return once(&seen, 1<<i) && s.string(dst[i])
			}
		}
		return !folds(key, names) && s.skip(1)
	})
}

var (
	rolePolicyKeys   = []string{"roleName", "policyArn"}
	inlinePolicyKeys = []string{"roleName", "policyName", "policyDocument"}
	trustPolicyKeys  = []string{"roleName", "policyDocument"}
	userPolicyKeys   = []string{"userName", "policyArn"}
	groupPolicyKeys  = []string{"groupName", "policyArn"}
)

func fastRolePolicy(s *scanner) (any, bool) {
	p := new(RolePolicyParams)
	return p, s.stringFields(rolePolicyKeys, &p.RoleName, &p.PolicyARN)
}

func fastInlinePolicy(s *scanner) (any, bool) {
	p := new(InlinePolicyParams)
	return p, s.stringFields(inlinePolicyKeys, &p.RoleName, &p.PolicyName, &p.PolicyDocument)
}

func fastTrustPolicy(s *scanner) (any, bool) {
	p := new(TrustPolicyParams)
	return p, s.stringFields(trustPolicyKeys, &p.RoleName, &p.PolicyDocument)
}

func fastUserPolicy(s *scanner) (any, bool) {
	p := new(UserPolicyParams)
	return p, s.stringFields(userPolicyKeys, &p.UserName, &p.PolicyARN)
}

func fastGroupPolicy(s *scanner) (any, bool) {
	p := new(GroupPolicyParams)
	return p, s.stringFields(groupPolicyKeys, &p.GroupName, &p.PolicyARN)
}
