// Package ekstatefake is a local fake of the read side of the EKS REST-JSON
// API, the IAM Query API and STS AssumeRole, seeded with clusters and roles,
// for testing what a scan reads with the real SDK. It is written from the
// API references: paths, pagination (maxResults/nextToken, MaxItems/Marker/
// IsTruncated), response shapes and error shapes (EKS: X-Amzn-Errortype and
// a JSON message; IAM and STS: an XML ErrorResponse).
//
// One fake serves several accounts and regions: the region is read from
// the request's SigV4 credential scope, the account from the access key
// (AssumeRole, here or in stsfake, issues keys that name the role's account).
package ekstatefake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
)

// Cluster is one seeded cluster.
type Cluster struct {
	Name               string
	RoleARN            string
	PublicAccess       bool
	PrivateAccess      bool
	PublicCIDRs        []string
	Logs               map[string]bool // log type -> enabled
	AuthenticationMode string
	BootstrapAdmin     *bool
	SecretsKeyARN      string
	DeletionProtection *bool
	AutoMode           bool
	AutoModeNodeRole   string
	RemoteNodeCIDRs    []string
	Entries            []Entry
	PodIdentities      []PodIdentity
	OIDC               []OIDC
	Nodegroups         []Nodegroup
}

// Entry is an access entry and its associated access policies.
type Entry struct {
	PrincipalARN string
	Type         string // STANDARD when empty
	Username     string
	Groups       []string
	Policies     []Association
}

// Association is an associated access policy.
type Association struct {
	PolicyARN  string
	Scope      string // cluster when empty
	Namespaces []string
}

// PodIdentity is a pod identity association.
type PodIdentity struct {
	ID, Namespace, ServiceAccount, RoleARN, TargetRoleARN string
}

// OIDC is an OIDC identity provider config.
type OIDC struct {
	Name, IssuerURL, ClientID, UsernameClaim, GroupsClaim string
}

// Nodegroup is a managed node group.
type Nodegroup struct {
	Name, NodeRole, AMIType, SSHKey string
	SourceSecurityGroups            []string
}

// Role is a seeded IAM role.
type Role struct {
	Name     string
	Attached []string // managed policy ARNs
	Inline   []string
	Trust    string // trust policy JSON
}

// Fake is the server state. Set its fields before serving; Seed and
// SeedRole add state.
type Fake struct {
	// DefaultAccount is the account of requests signed with a key that
	// AssumeRole did not issue.
	DefaultAccount string
	// PageSize caps every page (0: only the caller's maxResults caps it).
	PageSize int
	// Latency is added to every call.
	Latency time.Duration
	// RatePerAction, when set, is how many calls per second each API
	// action takes (per account and region) before answering throttling.
	RatePerAction float64
	// Deny answers AccessDenied to every call naming the cluster.
	Deny map[string]bool
	// Vanish lists clusters that ListClusters shows but that are gone
	// when described (deleted in between).
	Vanish map[string]bool

	// Updates counts the UpdateClusterConfig calls applied.
	Updates int

	mu       sync.Mutex
	clusters map[string]map[string][]*Cluster // account -> region -> clusters
	roles    map[string]map[string]*Role      // account -> name -> role
	calls    map[string]int
	throttle map[string]int
	buckets  map[string]*bucket
}

// New returns an empty fake whose default account is account.
func New(account string) *Fake {
	return &Fake{DefaultAccount: account, clusters: map[string]map[string][]*Cluster{}, roles: map[string]map[string]*Role{},
		calls: map[string]int{}, throttle: map[string]int{}, buckets: map[string]*bucket{}, Deny: map[string]bool{}, Vanish: map[string]bool{}}
}

// Seed adds a cluster in the account and region.
func (f *Fake) Seed(account, region string, c Cluster) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clusters[account] == nil {
		f.clusters[account] = map[string][]*Cluster{}
	}
	f.clusters[account][region] = append(f.clusters[account][region], &c)
}

// SeedRole adds a role in the account.
func (f *Fake) SeedRole(account string, r Role) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roles[account] == nil {
		f.roles[account] = map[string]*Role{}
	}
	f.roles[account][r.Name] = &r
}

// SetLogs turns the named log types of a seeded cluster on and the others off.
func (f *Fake) SetLogs(account, region, name string, types ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.find(account, region, name); c != nil {
		c.Logs = map[string]bool{}
		for _, t := range types {
			c.Logs[t] = true
		}
	}
}

// Logs returns a seeded cluster's log types (nil when there is no such cluster).
func (f *Fake) Logs(account, region, name string) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(account, region, name)
	if c == nil {
		return nil
	}
	out := map[string]bool{}
	for k, v := range c.Logs {
		out[k] = v
	}
	return out
}

// Calls is how many calls each action answered (throttled ones included).
func (f *Fake) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// Throttled is how many calls of each action were answered with throttling.
func (f *Fake) Throttled() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.throttle))
	for k, v := range f.throttle {
		out[k] = v
	}
	return out
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take reports whether the action's bucket has a token.
func (f *Fake) take(key string) bool {
	if f.RatePerAction <= 0 {
		return true
	}
	now := time.Now()
	b := f.buckets[key]
	if b == nil {
		b = &bucket{tokens: f.RatePerAction, last: now}
		f.buckets[key] = b
	}
	b.tokens = min(f.RatePerAction, b.tokens+now.Sub(b.last).Seconds()*f.RatePerAction)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// scope reads the region and access key of a SigV4-signed request.
func scope(r *http.Request) (key, region string) {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 3 {
		return parts[0], ""
	}
	return parts[0], parts[2]
}

// account is the account of a key AssumeRole issued (this fake's or
// stsfake's: stsfake.AccessKeyFor), else DefaultAccount.
func (f *Fake) account(key string) string {
	if a, ok := strings.CutPrefix(key, "ASIA"); ok && len(a) == 12 && strings.Trim(a, "0123456789") == "" && stsfake.AccessKeyFor(a) == key {
		return a
	}
	return f.DefaultAccount
}

// ServeHTTP answers EKS (REST paths under /clusters), and IAM and STS
// (Query POSTs to /).
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, region := scope(r)
	acct := f.account(key)
	var body []byte
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			writeEKSError(w, 400, "InvalidRequestException", "read body: "+err.Error())
			return
		}
		body = b
	}
	var op string
	query := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	var form url.Values
	if query {
		form, _ = url.ParseQuery(string(body))
		op = form.Get("Action")
	} else {
		op = eksOp(r)
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	f.mu.Lock()
	f.calls[op]++
	ok := f.take(acct + "/" + region + "/" + op)
	if !ok {
		f.throttle[op]++
	}
	f.mu.Unlock()
	if !ok {
		if query {
			writeQueryError(w, 400, "Throttling", "Rate exceeded")
		} else {
			writeEKSError(w, 400, "ThrottlingException", "Rate exceeded")
		}
		return
	}
	if query {
		f.serveQuery(w, acct, op, form)
		return
	}
	f.serveEKS(w, r, acct, region, op, body)
}

func eksOp(r *http.Request) string {
	seg := segments(r)
	n := len(seg)
	if r.Method == http.MethodPost && n == 4 && seg[2] == "identity-provider-configs" && seg[3] == "describe" {
		return "DescribeIdentityProviderConfig"
	}
	if r.Method == http.MethodPost && n == 3 && seg[0] == "clusters" && seg[2] == "update-config" {
		return "UpdateClusterConfig"
	}
	if r.Method != http.MethodGet || n == 0 || seg[0] != "clusters" {
		return "Unknown"
	}
	switch {
	case n == 1:
		return "ListClusters"
	case n == 2:
		return "DescribeCluster"
	case n == 3 && seg[2] == "access-entries":
		return "ListAccessEntries"
	case n == 4 && seg[2] == "access-entries":
		return "DescribeAccessEntry"
	case n == 5 && seg[2] == "access-entries" && seg[4] == "access-policies":
		return "ListAssociatedAccessPolicies"
	case n == 3 && seg[2] == "pod-identity-associations":
		return "ListPodIdentityAssociations"
	case n == 4 && seg[2] == "pod-identity-associations":
		return "DescribePodIdentityAssociation"
	case n == 3 && seg[2] == "identity-provider-configs":
		return "ListIdentityProviderConfigs"
	case n == 3 && seg[2] == "node-groups":
		return "ListNodegroups"
	case n == 4 && seg[2] == "node-groups":
		return "DescribeNodegroup"
	}
	return "Unknown"
}

// segments splits the escaped path and unescapes each segment, so that an
// ARN with an escaped '/' stays one segment.
func segments(r *http.Request) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		if v, err := url.PathUnescape(s); err == nil {
			s = v
		}
		out = append(out, s)
	}
	return out
}

func writeEKSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-Errortype", code)
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page cuts items to one page: the caller's maxResults (or max), capped
// by PageSize, from the offset nextToken holds.
func (f *Fake) page(n int, q url.Values, tokenKey, maxKey string) (from, to int, next string, err error) {
	if t := q.Get(tokenKey); t != "" {
		from, err = strconv.Atoi(t)
		if err != nil || from < 0 || from > n {
			return 0, 0, "", fmt.Errorf("invalid %s %q", tokenKey, t)
		}
	}
	size := 100
	if m := q.Get(maxKey); m != "" {
		if v, e := strconv.Atoi(m); e == nil && v > 0 {
			size = v
		}
	}
	if f.PageSize > 0 && f.PageSize < size {
		size = f.PageSize
	}
	to = min(n, from+size)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

func (f *Fake) find(acct, region, name string) *Cluster {
	for _, c := range f.clusters[acct][region] {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (f *Fake) serveEKS(w http.ResponseWriter, r *http.Request, acct, region, op string, body []byte) {
	seg := segments(r)
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "ListClusters" {
		var names []string
		for _, c := range f.clusters[acct][region] {
			names = append(names, c.Name)
		}
		from, to, next, err := f.page(len(names), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"clusters": orEmpty(names[from:to]), "nextToken": nullable(next)})
		return
	}
	if op == "Unknown" || len(seg) < 2 {
		writeEKSError(w, 404, "UnknownOperationException", "unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	name := seg[1]
	if f.Deny[name] {
		writeEKSError(w, 403, "AccessDeniedException", fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/reader/s is not authorized to perform: eks:%s on resource: arn:aws:eks:%s:%s:cluster/%s", acct, op, region, acct, name))
		return
	}
	c := f.find(acct, region, name)
	if c == nil || f.Vanish[name] {
		writeEKSError(w, 404, "ResourceNotFoundException", "No cluster found for name: "+name+".")
		return
	}
	switch op {
	case "DescribeCluster":
		writeJSON(w, 200, map[string]any{"cluster": c.describe(acct, region)})
	case "UpdateClusterConfig":
		// Only a logging change, applied at once; enough for a fix to land.
		var in struct {
			Logging *struct {
				ClusterLogging []struct {
					Types   []string `json:"types"`
					Enabled *bool    `json:"enabled"`
				} `json:"clusterLogging"`
			} `json:"logging"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Logging == nil {
			writeEKSError(w, 400, "InvalidParameterException", "the fake applies only logging updates")
			return
		}
		if c.Logs == nil {
			c.Logs = map[string]bool{}
		}
		for _, l := range in.Logging.ClusterLogging {
			for _, t := range l.Types {
				c.Logs[t] = l.Enabled != nil && *l.Enabled
			}
		}
		f.Updates++
		writeJSON(w, 200, map[string]any{"update": map[string]any{"id": fmt.Sprintf("update-%d", f.Updates), "status": "InProgress",
			"type": "LoggingUpdate", "createdAt": 1.7e9, "params": []any{}, "errors": []any{}}})
	case "ListAccessEntries":
		var arns []string
		for _, e := range c.Entries {
			arns = append(arns, e.PrincipalARN)
		}
		from, to, next, err := f.page(len(arns), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"accessEntries": orEmpty(arns[from:to]), "nextToken": nullable(next)})
	case "DescribeAccessEntry", "ListAssociatedAccessPolicies":
		i := slices.IndexFunc(c.Entries, func(e Entry) bool { return e.PrincipalARN == seg[3] })
		if i < 0 {
			writeEKSError(w, 404, "ResourceNotFoundException", "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.")
			return
		}
		e := c.Entries[i]
		if op == "DescribeAccessEntry" {
			typ := e.Type
			if typ == "" {
				typ = "STANDARD"
			}
			writeJSON(w, 200, map[string]any{"accessEntry": map[string]any{
				"clusterName": c.Name, "principalArn": e.PrincipalARN, "kubernetesGroups": orEmpty(e.Groups),
				"accessEntryArn": fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/x", region, acct, c.Name),
				"createdAt":      1.7e9, "modifiedAt": 1.7e9, "tags": map[string]string{}, "username": e.Username, "type": typ,
			}})
			return
		}
		from, to, next, err := f.page(len(e.Policies), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		var out []map[string]any
		for _, a := range e.Policies[from:to] {
			scope := a.Scope
			if scope == "" {
				scope = "cluster"
			}
			out = append(out, map[string]any{"policyArn": a.PolicyARN, "associatedAt": 1.7e9, "modifiedAt": 1.7e9,
				"accessScope": map[string]any{"type": scope, "namespaces": orEmpty(a.Namespaces)}})
		}
		writeJSON(w, 200, map[string]any{"clusterName": c.Name, "principalArn": e.PrincipalARN,
			"associatedAccessPolicies": orEmptyMaps(out), "nextToken": nullable(next)})
	case "ListPodIdentityAssociations":
		from, to, next, err := f.page(len(c.PodIdentities), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		var out []map[string]any
		for _, p := range c.PodIdentities[from:to] {
			out = append(out, map[string]any{"clusterName": c.Name, "namespace": p.Namespace, "serviceAccount": p.ServiceAccount,
				"associationId": p.ID, "associationArn": fmt.Sprintf("arn:aws:eks:%s:%s:podidentityassociation/%s/%s", region, acct, c.Name, p.ID)})
		}
		writeJSON(w, 200, map[string]any{"associations": orEmptyMaps(out), "nextToken": nullable(next)})
	case "DescribePodIdentityAssociation":
		i := slices.IndexFunc(c.PodIdentities, func(p PodIdentity) bool { return p.ID == seg[3] })
		if i < 0 {
			writeEKSError(w, 404, "ResourceNotFoundException", "Association "+seg[3]+" not found")
			return
		}
		p := c.PodIdentities[i]
		a := map[string]any{"clusterName": c.Name, "namespace": p.Namespace, "serviceAccount": p.ServiceAccount,
			"roleArn": p.RoleARN, "associationId": p.ID, "createdAt": 1.7e9, "modifiedAt": 1.7e9}
		if p.TargetRoleARN != "" {
			a["targetRoleArn"] = p.TargetRoleARN
		}
		writeJSON(w, 200, map[string]any{"association": a})
	case "ListIdentityProviderConfigs":
		from, to, next, err := f.page(len(c.OIDC), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		var out []map[string]any
		for _, o := range c.OIDC[from:to] {
			out = append(out, map[string]any{"type": "oidc", "name": o.Name})
		}
		writeJSON(w, 200, map[string]any{"identityProviderConfigs": orEmptyMaps(out), "nextToken": nullable(next)})
	case "DescribeIdentityProviderConfig":
		var in struct {
			IdentityProviderConfig struct{ Type, Name string } `json:"identityProviderConfig"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writeEKSError(w, 400, "InvalidParameterException", "bad body: "+err.Error())
			return
		}
		i := slices.IndexFunc(c.OIDC, func(o OIDC) bool { return o.Name == in.IdentityProviderConfig.Name })
		if i < 0 || in.IdentityProviderConfig.Type != "oidc" {
			writeEKSError(w, 404, "ResourceNotFoundException", "identity provider config not found")
			return
		}
		o := c.OIDC[i]
		writeJSON(w, 200, map[string]any{"identityProviderConfig": map[string]any{"oidc": map[string]any{
			"identityProviderConfigName": o.Name, "clusterName": c.Name, "issuerUrl": o.IssuerURL, "clientId": o.ClientID,
			"usernameClaim": o.UsernameClaim, "groupsClaim": o.GroupsClaim, "status": "ACTIVE",
		}}})
	case "ListNodegroups":
		from, to, next, err := f.page(len(c.Nodegroups), q, "nextToken", "maxResults")
		if err != nil {
			writeEKSError(w, 400, "InvalidParameterException", err.Error())
			return
		}
		var names []string
		for _, ng := range c.Nodegroups[from:to] {
			names = append(names, ng.Name)
		}
		writeJSON(w, 200, map[string]any{"nodegroups": orEmpty(names), "nextToken": nullable(next)})
	case "DescribeNodegroup":
		i := slices.IndexFunc(c.Nodegroups, func(ng Nodegroup) bool { return ng.Name == seg[3] })
		if i < 0 {
			writeEKSError(w, 404, "ResourceNotFoundException", "No node group found for name: "+seg[3]+".")
			return
		}
		ng := c.Nodegroups[i]
		out := map[string]any{"nodegroupName": ng.Name, "clusterName": c.Name, "nodeRole": ng.NodeRole, "status": "ACTIVE"}
		if ng.AMIType != "" {
			out["amiType"] = ng.AMIType
		}
		if ng.SSHKey != "" {
			out["remoteAccess"] = map[string]any{"ec2SshKey": ng.SSHKey, "sourceSecurityGroups": orEmpty(ng.SourceSecurityGroups)}
		}
		writeJSON(w, 200, map[string]any{"nodegroup": out})
	default:
		writeEKSError(w, 404, "UnknownOperationException", "unknown operation "+op)
	}
}

func (c *Cluster) describe(acct, region string) map[string]any {
	cidrs := c.PublicCIDRs
	if c.PublicAccess && len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0"}
	}
	var on, off []string
	for _, t := range []string{"api", "audit", "authenticator", "controllerManager", "scheduler"} {
		if c.Logs[t] {
			on = append(on, t)
		} else {
			off = append(off, t)
		}
	}
	var logging []map[string]any
	if len(on) > 0 {
		logging = append(logging, map[string]any{"types": on, "enabled": true})
	}
	if len(off) > 0 {
		logging = append(logging, map[string]any{"types": off, "enabled": false})
	}
	mode := c.AuthenticationMode
	if mode == "" {
		mode = "API_AND_CONFIG_MAP"
	}
	access := map[string]any{"authenticationMode": mode}
	if c.BootstrapAdmin != nil {
		access["bootstrapClusterCreatorAdminPermissions"] = *c.BootstrapAdmin
	}
	out := map[string]any{
		"name": c.Name, "arn": fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", region, acct, c.Name),
		"roleArn": c.RoleARN, "version": "1.33", "status": "ACTIVE", "createdAt": 1.7e9,
		"resourcesVpcConfig": map[string]any{"subnetIds": []string{"subnet-1"}, "endpointPublicAccess": c.PublicAccess,
			"endpointPrivateAccess": c.PrivateAccess, "publicAccessCidrs": orEmpty(cidrs)},
		"logging":      map[string]any{"clusterLogging": logging},
		"accessConfig": access,
	}
	if c.SecretsKeyARN != "" {
		out["encryptionConfig"] = []map[string]any{{"resources": []string{"secrets"}, "provider": map[string]any{"keyArn": c.SecretsKeyARN}}}
	}
	if c.DeletionProtection != nil {
		out["deletionProtection"] = *c.DeletionProtection
	}
	if c.AutoMode || c.AutoModeNodeRole != "" {
		out["computeConfig"] = map[string]any{"enabled": c.AutoMode, "nodePools": []string{"general-purpose"}, "nodeRoleArn": c.AutoModeNodeRole}
	}
	if len(c.RemoteNodeCIDRs) > 0 {
		out["remoteNetworkConfig"] = map[string]any{"remoteNodeNetworks": []map[string]any{{"cidrs": c.RemoteNodeCIDRs}}}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMaps(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeQueryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
		esc(code), esc(msg))
}

func writeQueryResult(w http.ResponseWriter, action, result string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	_, _ = fmt.Fprintf(w, `<%sResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></%sResponse>`,
		action, action, result, action, action)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (f *Fake) serveQuery(w http.ResponseWriter, acct, op string, form url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "AssumeRole" {
		arn := form.Get("RoleArn")
		parts := strings.Split(arn, ":")
		if len(parts) < 6 {
			writeQueryError(w, 400, "ValidationError", "invalid RoleArn "+arn)
			return
		}
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		writeQueryResult(w, op, fmt.Sprintf(`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>`,
			stsfake.AccessKeyFor(parts[4]), exp, parts[4], esc(strings.TrimPrefix(parts[5], "role/")), esc(form.Get("RoleSessionName")), esc(form.Get("RoleSessionName"))))
		return
	}
	if op == "GetCallerIdentity" {
		writeQueryResult(w, op, fmt.Sprintf(`<Arn>arn:aws:sts::%s:assumed-role/reader/scan</Arn><UserId>AROAFAKE:scan</UserId><Account>%s</Account>`, acct, acct))
		return
	}
	name := form.Get("RoleName")
	role := f.roles[acct][name]
	if role == nil {
		writeQueryError(w, 404, "NoSuchEntity", "The role with name "+name+" cannot be found.")
		return
	}
	q := url.Values{"Marker": {form.Get("Marker")}, "MaxItems": {form.Get("MaxItems")}}
	switch op {
	case "GetRole":
		writeQueryResult(w, op, fmt.Sprintf(`<Role><Path>/</Path><RoleName>%s</RoleName><RoleId>AROAFAKE</RoleId><Arn>arn:aws:iam::%s:role/%s</Arn><CreateDate>2025-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument></Role>`,
			esc(name), acct, esc(name), esc(url.QueryEscape(role.Trust))))
	case "ListAttachedRolePolicies":
		from, to, next, err := f.page(len(role.Attached), q, "Marker", "MaxItems")
		if err != nil {
			writeQueryError(w, 400, "InvalidInput", err.Error())
			return
		}
		var b strings.Builder
		b.WriteString("<AttachedPolicies>")
		for _, a := range role.Attached[from:to] {
			fmt.Fprintf(&b, "<member><PolicyName>%s</PolicyName><PolicyArn>%s</PolicyArn></member>", esc(a[strings.LastIndex(a, "/")+1:]), esc(a))
		}
		b.WriteString("</AttachedPolicies>")
		writeTruncation(&b, next)
		writeQueryResult(w, op, b.String())
	case "ListRolePolicies":
		from, to, next, err := f.page(len(role.Inline), q, "Marker", "MaxItems")
		if err != nil {
			writeQueryError(w, 400, "InvalidInput", err.Error())
			return
		}
		var b strings.Builder
		b.WriteString("<PolicyNames>")
		for _, n := range role.Inline[from:to] {
			fmt.Fprintf(&b, "<member>%s</member>", esc(n))
		}
		b.WriteString("</PolicyNames>")
		writeTruncation(&b, next)
		writeQueryResult(w, op, b.String())
	default:
		writeQueryError(w, 400, "InvalidAction", "unknown action "+op)
	}
}

func writeTruncation(b *strings.Builder, next string) {
	if next == "" {
		b.WriteString("<IsTruncated>false</IsTruncated>")
		return
	}
	fmt.Fprintf(b, "<IsTruncated>true</IsTruncated><Marker>%s</Marker>", next)
}
