package awsfake

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Cluster is the state the EKS fake keeps for one cluster.
type Cluster struct {
	Name    string
	RoleARN string
	// Endpoint access.
	PublicAccess  bool
	PrivateAccess bool
	// PublicCIDRs is what DescribeCluster reports; EKS reports 0.0.0.0/0
	// for a public endpoint without a list.
	PublicCIDRs []string
	// Logs are the enabled control-plane log types.
	Logs []string
	// DeletionProtection makes DeleteCluster fail until it is turned off.
	DeletionProtection bool
	// Nodegroups maps node group names to their node role ARN.
	Nodegroups map[string]string
	// Entries maps principal ARNs to access entries.
	Entries map[string]*AccessEntry
	// IdentityProviders maps OIDC identity provider config names to their issuer URL.
	IdentityProviders map[string]string
	// PodIdentities maps pod identity association IDs to the associations.
	PodIdentities map[string]PodIdentity
	// Updates counts UpdateClusterConfig calls applied.
	Updates int
}

// AccessEntry is an access entry with its associated access policies.
type AccessEntry struct {
	Type     string // STANDARD when empty
	Username string
	Groups   []string
	Policies []string // associated access policy ARNs
}

// PodIdentity is a pod identity association.
type PodIdentity struct {
	Namespace, ServiceAccount, RoleARN, TargetRoleARN string
}

// EKS fakes the EKS control-plane API.
type EKS struct {
	server
	clusters map[string]*Cluster
}

func newEKS(log *Log) *EKS {
	e := &EKS{clusters: map[string]*Cluster{}}
	e.server = server{service: "eks", log: log, opOf: eksOp, writeFn: writeEKSError}
	e.handle = e.serveOp
	return e
}

// Put adds or replaces a cluster.
func (e *EKS) Put(c Cluster) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.Entries == nil {
		c.Entries = map[string]*AccessEntry{}
	}
	e.clusters[c.Name] = &c
}

func (e *EKS) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clusters = map[string]*Cluster{}
}

// Get returns a deep copy of a cluster's current state.
func (e *EKS) Get(name string) (Cluster, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clusters[name]
	if !ok {
		return Cluster{}, false
	}
	cp := *c
	cp.PublicCIDRs = slices.Clone(c.PublicCIDRs)
	cp.Logs = slices.Clone(c.Logs)
	cp.Entries = map[string]*AccessEntry{}
	for k, v := range c.Entries {
		ev := *v
		ev.Groups = slices.Clone(v.Groups)
		ev.Policies = slices.Clone(v.Policies)
		cp.Entries[k] = &ev
	}
	cp.IdentityProviders = maps.Clone(c.IdentityProviders)
	cp.PodIdentities = maps.Clone(c.PodIdentities)
	return cp, true
}

// eksOp names the operation of a REST request from its method and path.
func eksOp(r *http.Request, _ []byte) string {
	seg := eksSegments(r)
	n := len(seg)
	switch {
	case n == 1 && seg[0] == "clusters" && r.Method == http.MethodGet:
		return "ListClusters"
	case n == 2 && r.Method == http.MethodGet:
		return "DescribeCluster"
	case n == 3 && seg[2] == "update-config" && r.Method == http.MethodPost:
		return "UpdateClusterConfig"
	case n == 3 && seg[2] == "node-groups" && r.Method == http.MethodGet:
		return "ListNodegroups"
	case n == 4 && seg[2] == "node-groups" && r.Method == http.MethodGet:
		return "DescribeNodegroup"
	case n == 4 && seg[2] == "access-entries":
		switch r.Method {
		case http.MethodGet:
			return "DescribeAccessEntry"
		case http.MethodPost:
			return "UpdateAccessEntry"
		case http.MethodDelete:
			return "DeleteAccessEntry"
		}
	case n == 4 && seg[2] == "identity-provider-configs" && seg[3] == "describe" && r.Method == http.MethodPost:
		return "DescribeIdentityProviderConfig"
	case n == 4 && seg[2] == "identity-provider-configs" && seg[3] == "disassociate" && r.Method == http.MethodPost:
		return "DisassociateIdentityProviderConfig"
	case n == 4 && seg[2] == "pod-identity-associations" && r.Method == http.MethodGet:
		return "DescribePodIdentityAssociation"
	case n == 4 && seg[2] == "pod-identity-associations" && r.Method == http.MethodDelete:
		return "DeletePodIdentityAssociation"
	case n == 5 && seg[4] == "access-policies" && r.Method == http.MethodGet:
		return "ListAssociatedAccessPolicies"
	case n == 6 && seg[4] == "access-policies" && r.Method == http.MethodDelete:
		return "DisassociateAccessPolicy"
	}
	return "Unknown"
}

// eksSegments splits the raw path and decodes each segment, so that ARNs
// with an encoded '/' stay one segment.
func eksSegments(r *http.Request) []string {
	raw := r.URL.EscapedPath()
	var out []string
	for _, s := range strings.Split(strings.Trim(raw, "/"), "/") {
		v, err := url.PathUnescape(s)
		if err != nil {
			v = s
		}
		out = append(out, v)
	}
	return out
}

func writeEKSError(w http.ResponseWriter, f Fault) {
	w.Header().Set("X-Amzn-Errortype", f.Code)
	writeJSON(w, "application/json", f.Status, map[string]string{"message": f.Message})
}

func (e *EKS) notFound(w http.ResponseWriter, what string) {
	writeEKSError(w, Fault{Status: 404, Code: "ResourceNotFoundException", Message: what + " not found"})
}

func (e *EKS) serveOp(w http.ResponseWriter, r *http.Request, c *Call, body []byte) {
	seg := eksSegments(r)
	if c.Op == "ListClusters" {
		e.listClusters(w, r)
		return
	}
	if c.Op == "Unknown" || len(seg) < 2 {
		writeEKSError(w, Fault{Status: 400, Code: "InvalidRequestException", Message: "awsfake: unsupported EKS call " + r.Method + " " + c.Path})
		return
	}
	cl, ok := e.clusters[seg[1]]
	if !ok {
		e.notFound(w, "cluster "+seg[1])
		return
	}
	ok200 := func(v any) { writeJSON(w, "application/json", 200, v) }
	switch c.Op {
	case "DescribeCluster":
		ok200(map[string]any{"cluster": cl.describe()})
	case "UpdateClusterConfig":
		e.updateConfig(w, cl, body)
	case "ListNodegroups":
		names := make([]string, 0, len(cl.Nodegroups))
		for n := range cl.Nodegroups {
			names = append(names, n)
		}
		sort.Strings(names)
		ok200(map[string]any{"nodegroups": names})
	case "DescribeNodegroup":
		role, ok := cl.Nodegroups[seg[3]]
		if !ok {
			e.notFound(w, "nodegroup "+seg[3])
			return
		}
		ok200(map[string]any{"nodegroup": map[string]any{"nodegroupName": seg[3], "clusterName": cl.Name, "nodeRole": role}})
	case "DescribeIdentityProviderConfig", "DisassociateIdentityProviderConfig":
		var in struct {
			IdentityProviderConfig struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"identityProviderConfig"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.IdentityProviderConfig.Type != "oidc" || in.IdentityProviderConfig.Name == "" {
			writeEKSError(w, Fault{Status: 400, Code: "InvalidParameterException", Message: "identityProviderConfig needs type oidc and a name"})
			return
		}
		name := in.IdentityProviderConfig.Name
		issuer, ok := cl.IdentityProviders[name]
		if !ok {
			e.notFound(w, "identity provider config "+name)
			return
		}
		if c.Op == "DescribeIdentityProviderConfig" {
			ok200(map[string]any{"identityProviderConfig": map[string]any{"oidc": map[string]any{
				"identityProviderConfigName": name, "clusterName": cl.Name, "issuerUrl": issuer, "clientId": "kubernetes", "status": "ACTIVE",
				"identityProviderConfigArn": "arn:aws:eks:eu-west-1:111122223333:" + identityProviderResource(cl.Name, name),
			}}})
			return
		}
		delete(cl.IdentityProviders, name)
		cl.Updates++
		ok200(map[string]any{"update": map[string]any{"id": "update-" + strconv.Itoa(cl.Updates), "status": "InProgress", "type": "DisassociateIdentityProviderConfig"}})
	case "DescribePodIdentityAssociation", "DeletePodIdentityAssociation":
		id := seg[3]
		a, ok := cl.PodIdentities[id]
		if !ok {
			e.notFound(w, "pod identity association "+id)
			return
		}
		out := map[string]any{"association": map[string]any{
			"clusterName": cl.Name, "associationId": id, "namespace": a.Namespace, "serviceAccount": a.ServiceAccount,
			"roleArn": a.RoleARN, "targetRoleArn": a.TargetRoleARN,
			"associationArn": "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/" + cl.Name + "/" + id,
		}}
		if c.Op == "DeletePodIdentityAssociation" {
			delete(cl.PodIdentities, id)
		}
		ok200(out)
	case "DescribeAccessEntry", "UpdateAccessEntry", "DeleteAccessEntry", "ListAssociatedAccessPolicies", "DisassociateAccessPolicy":
		principal := seg[3]
		ent, ok := cl.Entries[principal]
		if !ok {
			e.notFound(w, "access entry "+principal)
			return
		}
		switch c.Op {
		case "DescribeAccessEntry":
			ok200(map[string]any{"accessEntry": ent.describe(cl.Name, principal)})
		case "UpdateAccessEntry":
			var in struct {
				KubernetesGroups *[]string `json:"kubernetesGroups"`
				Username         *string   `json:"username"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				writeEKSError(w, Fault{Status: 400, Code: "InvalidParameterException", Message: err.Error()})
				return
			}
			if in.KubernetesGroups != nil {
				ent.Groups = slices.Clone(*in.KubernetesGroups)
			}
			if in.Username != nil {
				ent.Username = *in.Username
			}
			ok200(map[string]any{"accessEntry": ent.describe(cl.Name, principal)})
		case "DeleteAccessEntry":
			delete(cl.Entries, principal)
			ok200(map[string]any{})
		case "ListAssociatedAccessPolicies":
			pols := []map[string]any{}
			for _, p := range ent.Policies {
				pols = append(pols, map[string]any{"policyArn": p, "accessScope": map[string]any{"type": "cluster"}})
			}
			ok200(map[string]any{"clusterName": cl.Name, "principalArn": principal, "associatedAccessPolicies": pols})
		case "DisassociateAccessPolicy":
			i := slices.Index(ent.Policies, seg[5])
			if i < 0 {
				e.notFound(w, "access policy association "+seg[5])
				return
			}
			ent.Policies = slices.Delete(ent.Policies, i, i+1)
			ok200(map[string]any{})
		}
	}
}

func (e *EKS) listClusters(w http.ResponseWriter, r *http.Request) {
	names := make([]string, 0, len(e.clusters))
	for n := range e.clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(r.URL.Query().Get("nextToken"))
	size, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	if size <= 0 {
		size = 100
	}
	start = min(start, len(names))
	end := min(start+size, len(names))
	out := map[string]any{"clusters": names[start:end]}
	if end < len(names) {
		out["nextToken"] = strconv.Itoa(end)
	}
	writeJSON(w, "application/json", 200, out)
}

func (cl *Cluster) describe() map[string]any {
	cidrs := cl.PublicCIDRs
	if cl.PublicAccess && len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0"}
	}
	var logging []map[string]any
	var off []string
	for _, t := range []string{"api", "audit", "authenticator", "controllerManager", "scheduler"} {
		if !slices.Contains(cl.Logs, t) {
			off = append(off, t)
		}
	}
	if len(cl.Logs) > 0 {
		logging = append(logging, map[string]any{"types": cl.Logs, "enabled": true})
	}
	if len(off) > 0 {
		logging = append(logging, map[string]any{"types": off, "enabled": false})
	}
	return map[string]any{
		"name":    cl.Name,
		"arn":     "arn:aws:eks:eu-west-1:111122223333:cluster/" + cl.Name,
		"roleArn": cl.RoleARN,
		"status":  "ACTIVE",
		"resourcesVpcConfig": map[string]any{
			"endpointPublicAccess":  cl.PublicAccess,
			"endpointPrivateAccess": cl.PrivateAccess,
			"publicAccessCidrs":     cidrs,
		},
		"logging":            map[string]any{"clusterLogging": logging},
		"deletionProtection": cl.DeletionProtection,
	}
}

func (e *EKS) updateConfig(w http.ResponseWriter, cl *Cluster, body []byte) {
	var in struct {
		ResourcesVpcConfig *struct {
			EndpointPublicAccess  *bool    `json:"endpointPublicAccess"`
			EndpointPrivateAccess *bool    `json:"endpointPrivateAccess"`
			PublicAccessCidrs     []string `json:"publicAccessCidrs"`
		} `json:"resourcesVpcConfig"`
		Logging *struct {
			ClusterLogging []struct {
				Types   []string `json:"types"`
				Enabled *bool    `json:"enabled"`
			} `json:"clusterLogging"`
		} `json:"logging"`
		DeletionProtection *bool `json:"deletionProtection"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeEKSError(w, Fault{Status: 400, Code: "InvalidParameterException", Message: err.Error()})
		return
	}
	kinds := 0
	for _, set := range []bool{in.ResourcesVpcConfig != nil, in.Logging != nil, in.DeletionProtection != nil} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		writeEKSError(w, Fault{Status: 400, Code: "InvalidParameterException", Message: "only one type of update can be allowed"})
		return
	}
	kind := "LoggingUpdate"
	if in.DeletionProtection != nil {
		kind = "DeletionProtectionUpdate"
		cl.DeletionProtection = *in.DeletionProtection
	}
	if v := in.ResourcesVpcConfig; v != nil {
		kind = "EndpointAccessUpdate"
		pub, priv := cl.PublicAccess, cl.PrivateAccess
		if v.EndpointPublicAccess != nil {
			pub = *v.EndpointPublicAccess
		}
		if v.EndpointPrivateAccess != nil {
			priv = *v.EndpointPrivateAccess
		}
		if !pub && !priv {
			writeEKSError(w, Fault{Status: 400, Code: "InvalidParameterException", Message: "the cluster endpoint must be public, private or both"})
			return
		}
		cl.PublicAccess, cl.PrivateAccess = pub, priv
		if v.PublicAccessCidrs != nil {
			cl.PublicCIDRs = slices.Clone(v.PublicAccessCidrs)
		}
	}
	if in.Logging != nil {
		for _, s := range in.Logging.ClusterLogging {
			for _, t := range s.Types {
				on := s.Enabled != nil && *s.Enabled
				i := slices.Index(cl.Logs, t)
				switch {
				case on && i < 0:
					cl.Logs = append(cl.Logs, t)
				case !on && i >= 0:
					cl.Logs = slices.Delete(cl.Logs, i, i+1)
				}
			}
		}
	}
	cl.Updates++
	writeJSON(w, "application/json", 200, map[string]any{"update": map[string]any{
		"id": "update-" + strconv.Itoa(cl.Updates), "status": "InProgress", "type": kind,
	}})
}

func (a *AccessEntry) describe(cluster, principal string) map[string]any {
	typ := a.Type
	if typ == "" {
		typ = "STANDARD"
	}
	groups := a.Groups
	if groups == nil {
		groups = []string{}
	}
	return map[string]any{
		"clusterName":      cluster,
		"principalArn":     principal,
		"kubernetesGroups": groups,
		"username":         a.Username,
		"type":             typ,
	}
}
