package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/awsauth"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
)

// The rules of the kubernetes family read the control plane's audit log,
// which EKS writes to CloudWatch Logs: what CloudTrail never sees. eksguard
// holds no Kubernetes credentials, so none of them has a plan; each finding
// carries the kubectl command a person would run.

// What the rules read.
var (
	awsAuthWrites = AuditMatch{Resources: []string{"configmaps"}, Namespace: awsauth.Namespace, Name: awsauth.Name,
		Verbs: []string{"update", "patch", "delete", "deletecollection"}}
	awsAuthEdits   = AuditMatch{Resources: []string{"configmaps"}, Namespace: awsauth.Namespace, Name: awsauth.Name, Verbs: []string{"update", "patch"}}
	bindingWrites  = AuditMatch{Resources: []string{"clusterrolebindings", "rolebindings"}, Verbs: []string{"create", "update", "patch"}}
	impersonations = AuditMatch{Impersonated: true}
)

// configMapPath is the note every aws-auth finding carries: the event does
// not say the cluster's authentication mode, which decides whether the
// ConfigMap is read at all.
func configMapPath(cluster string) string {
	return fmt.Sprintf("the audit event does not say cluster %s's authentication mode: under CONFIG_MAP or API_AND_CONFIG_MAP "+
		"aws-auth is live; moving the cluster to API (access entries only) closes this path: "+
		"aws eks update-cluster-config --name %s --access-config authenticationMode=API", orUnknown(cluster), orUnknown(cluster))
}

func kubectl(cluster, args string) string {
	if cluster == "" {
		return "kubectl " + args
	}
	return "aws eks update-kubeconfig --name " + cluster + " && kubectl " + args
}

// by names the caller: the IAM principal behind the Kubernetes user.
func by(ev *k8saudit.Event) string {
	u := &ev.User
	switch {
	case u.ARN() != "" && u.Username != u.ARN():
		return fmt.Sprintf("%s (Kubernetes user %s)", u.ARN(), u.Username)
	case u.ARN() != "":
		return u.ARN()
	}
	return "Kubernetes user " + orUnknown(u.Username) + " (not an IAM principal)"
}

// AWSAuthAdminMapped flags an edit of aws-auth that maps a principal into
// a privileged group.
var AWSAuthAdminMapped = Rule{
	ID:       "aws-auth-admin-mapped",
	Title:    "aws-auth maps a non-admin principal into a privileged Kubernetes group",
	Severity: finding.Critical,
	Rationale: "On clusters in CONFIG_MAP or API_AND_CONFIG_MAP authentication mode the aws-auth ConfigMap turns IAM " +
		"roles and users into Kubernetes users and groups; one line mapping a role to system:masters makes whoever " +
		"assumes it cluster-admin, with no EKS call in CloudTrail. A mapping that does not parse is reported too: " +
		"what the authenticator makes of it cannot be told.",
	Fix: "Remove the mapping with kubectl -n kube-system edit configmap aws-auth (or move the cluster to access entries, authentication mode API).",
	Audit: []AuditJudgement{OnAudit(awsAuthEdits, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
		return awsAuthAdminFindings(ev, p, awsAuthOf(ev))
	})},
	Examples: []Example{
		{Name: "role mapped to system:masters", Audit: `{"verb":"update","requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/dev-team\n  username: dev\n  groups: [system:masters]`) + `}`, Fires: true},
		{Name: "node role mapping", Audit: `{"verb":"update","requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/prod-node-role\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]`) + `}`, Fires: false},
		{Name: "listed admin mapped to system:masters", Audit: `{"verb":"update","requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/platform-admins\n  username: admin\n  groups: [system:masters]`) + `}`, Fires: false},
		{Name: "malformed mapping", Audit: `{"verb":"update","requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/dev-team\n  usrname: dev\n  groups: [system:masters]`) + `}`, Fires: true},
		{Name: "denied edit", Audit: `{"verb":"update","responseStatus":{"code":403},"requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/dev-team\n  username: dev\n  groups: [system:masters]`) + `}`, Fires: false},
	},
}

// AWSAuthChanged flags every other change or deletion of aws-auth, and a
// denied attempt at one (low).
var AWSAuthChanged = Rule{
	ID:       "aws-auth-changed",
	Title:    "aws-auth ConfigMap changed or deleted",
	Severity: finding.Medium,
	Rationale: "aws-auth decides which IAM roles and users get into the cluster as whom. A change that grants no admin " +
		"still adds or removes a way in, and deleting it locks out every node and user it maps. A denied attempt " +
		"shows someone trying.",
	Fix: "Review it with kubectl -n kube-system get configmap aws-auth -o yaml and restore the intended mappings.",
	Audit: []AuditJudgement{
		OnAudit(awsAuthWrites, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
			f := finding.Finding{Cluster: ev.Cluster, Resource: "configmap " + awsauth.Namespace + "/" + awsauth.Name, NeedsCheck: configMapPath(ev.Cluster)}
			switch ev.Verb {
			case "delete", "deletecollection":
				f.Summary = fmt.Sprintf("%s deleted aws-auth on cluster %s: every node and user it mapped is locked out", by(ev), orUnknown(ev.Cluster))
				if ev.Verb == "deletecollection" {
					f.Summary = fmt.Sprintf("%s deleted every ConfigMap in kube-system on cluster %s, aws-auth with them: every node and user it mapped is locked out", by(ev), orUnknown(ev.Cluster))
				}
				f.After = "aws-auth deleted"
				f.Command = kubectl(ev.Cluster, "-n kube-system apply -f aws-auth.yaml  # the last good copy")
				return []finding.Finding{f}
			}
			c := awsAuthOf(ev)
			if len(awsAuthAdminFindings(ev, p, c)) > 0 {
				return nil // aws-auth-admin-mapped reports it
			}
			added, _ := c.AddedMappings()
			if ev.User.ARN() == "" && strings.HasPrefix(ev.User.Username, "eks:") && len(added) > 0 &&
				!slices.ContainsFunc(added, func(m awsauth.Mapping) bool { return !nodeMapping(m) }) && len(c.AddedAccounts()) == 0 {
				return nil // EKS itself mapping a node group's role
			}
			f.Summary = fmt.Sprintf("%s changed aws-auth on cluster %s (%s)", by(ev), orUnknown(ev.Cluster), ev.Verb)
			f.After = describeMappings(c, added)
			f.Command = kubectl(ev.Cluster, "-n kube-system get configmap aws-auth -o yaml")
			return []finding.Finding{f}
		}),
		OnAuditDenied(awsAuthWrites, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
			return []finding.Finding{{
				Severity: finding.Low, Cluster: ev.Cluster, Resource: "configmap " + awsauth.Namespace + "/" + awsauth.Name,
				Summary: fmt.Sprintf("%s tried to %s aws-auth on cluster %s and was denied", by(ev), ev.Verb, orUnknown(ev.Cluster)),
				Command: kubectl(ev.Cluster, "auth can-i --list --as "+shellQuote(ev.User.Username)),
			}}
		}),
	},
	Examples: []Example{
		{Name: "deleted", Audit: `{"verb":"delete"}`, Fires: true},
		{Name: "new user mapping", Audit: `{"verb":"patch","requestObject":{"data":{"mapUsers":"- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [developers]\n"}}}`, Fires: true},
		{Name: "denied edit", Audit: `{"verb":"patch","responseStatus":{"code":403,"reason":"Forbidden"},"annotations":{"authorization.k8s.io/decision":"forbid"}}`, Fires: true},
		{Name: "EKS maps a node role", Audit: `{"verb":"update","user":{"username":"eks:node-manager"},"requestObject":` + exampleAWSAuth(`- rolearn: arn:aws:iam::111122223333:role/prod-node-role\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]`) + `}`, Fires: false},
		{Name: "a read", Audit: `{"verb":"get"}`, Fires: false},
		{Name: "conflict", Audit: `{"verb":"update","responseStatus":{"code":409,"reason":"Conflict"}}`, Fires: false},
	},
}

// ClusterAdminBound flags a binding of cluster-admin (or a privileged
// ClusterRole) to a subject that is neither a system component nor a
// listed admin; a denied attempt is low.
var ClusterAdminBound = Rule{
	ID:       "cluster-admin-bound",
	Title:    "cluster-admin bound to a non-admin subject",
	Severity: finding.Critical,
	Rationale: "A ClusterRoleBinding to cluster-admin gives its subjects full control of the cluster, secrets and RBAC " +
		"included, whatever IAM and access entries say; a RoleBinding to it gives the same inside a namespace " +
		"(critical in kube-system, whose service accounts control the cluster). Neither shows in CloudTrail.",
	Fix: "Delete the binding with kubectl delete clusterrolebinding NAME (kubectl -n NAMESPACE delete rolebinding NAME).",
	Audit: []AuditJudgement{
		OnAudit(bindingWrites, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
			return bindingFindings(ev, p, false)
		}),
		OnAuditDenied(bindingWrites, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
			return bindingFindings(ev, p, true)
		}),
	},
	Examples: []Example{
		{Name: "cluster-admin to a user", Audit: `{"verb":"create","objectRef":{"resource":"clusterrolebindings","name":"dev-admin","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"dev-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"dev"}]}}`, Fires: true},
		{Name: "cluster-admin to a kube-system service account", Audit: `{"verb":"create","objectRef":{"resource":"clusterrolebindings","name":"ebs-csi","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"ebs-csi"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount","name":"ebs-csi-controller-sa","namespace":"kube-system"}]}}`, Fires: false},
		{Name: "view to a user", Audit: `{"verb":"create","objectRef":{"resource":"clusterrolebindings","name":"dev-view","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"dev-view"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"User","name":"dev"}]}}`, Fires: false},
		{Name: "denied escalation", Audit: `{"verb":"create","responseStatus":{"code":403,"reason":"Forbidden"},"objectRef":{"resource":"clusterrolebindings","name":"dev-admin","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"dev-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"dev"}]}}`, Fires: true},
	},
}

// AnonymousAccessBound flags a binding whose subjects take in
// unauthenticated callers.
var AnonymousAccessBound = Rule{
	ID:       "anonymous-access-bound",
	Title:    "Role bound to anonymous or unauthenticated callers",
	Severity: finding.Critical,
	Rationale: "A binding to system:anonymous or system:unauthenticated gives its role to anyone who can reach the API " +
		"endpoint, with no credentials at all; on a public endpoint that is the internet.",
	Fix: "Delete the binding (or remove those subjects) with kubectl.",
	Audit: []AuditJudgement{OnAudit(bindingWrites, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
		b, ok := readBinding(ev)
		if !ok || ev.User.Username == "system:apiserver" {
			return nil // the API server's own bootstrap bindings (system:public-info-viewer)
		}
		var anon []string
		for _, s := range b.Subjects {
			if (s.Kind == "User" && s.Name == "system:anonymous") || (s.Kind == "Group" && s.Name == "system:unauthenticated") {
				anon = append(anon, s.String())
			}
		}
		if len(anon) == 0 {
			return nil
		}
		return []finding.Finding{{
			Cluster: ev.Cluster, Resource: b.ref(),
			Summary: fmt.Sprintf("%s bound %s %s to %s on cluster %s: anyone who reaches the endpoint gets it without credentials",
				by(ev), b.RoleRef.Kind, b.RoleRef.Name, strings.Join(anon, ", "), orUnknown(ev.Cluster)),
			After:   b.describe(),
			Command: kubectl(ev.Cluster, b.deleteArgs()),
		}}
	})},
	Examples: []Example{
		{Name: "view to system:anonymous", Audit: `{"verb":"create","objectRef":{"resource":"clusterrolebindings","name":"open","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"open"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"User","name":"system:anonymous"}]}}`, Fires: true},
		{Name: "view to system:authenticated", Audit: `{"verb":"create","objectRef":{"resource":"clusterrolebindings","name":"all-view","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"all-view"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"Group","name":"system:authenticated"}]}}`, Fires: false},
	},
}

// ImpersonationUsed flags a request made by impersonating a privileged
// group, by a caller that is not a listed admin.
var ImpersonationUsed = Rule{
	ID:       "impersonation-used",
	Title:    "Request made by impersonating a privileged group",
	Severity: finding.Medium,
	Rationale: "Impersonation lets a caller act as another user and groups; a caller who may impersonate system:masters " +
		"is cluster-admin in all but name, and the audit log's user is then not who holds the power.",
	Fix: "Find and remove the grant of the impersonate verb (kubectl get clusterroles -o yaml | grep -B5 impersonate).",
	Audit: []AuditJudgement{OnAudit(impersonations, func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
		im := ev.ImpersonatedUser
		var groups []string
		for _, g := range im.Groups {
			if p.IsPrivilegedGroup(g) {
				groups = append(groups, g)
			}
		}
		if len(groups) == 0 || isAdminCaller(p, &ev.User) {
			return nil
		}
		return []finding.Finding{{
			Cluster: ev.Cluster, Principal: ev.User.Principal(), Resource: ev.Object(),
			Summary: fmt.Sprintf("%s impersonated %s in group(s) %s on cluster %s to %s %s",
				by(ev), orUnknown(im.Username), strings.Join(groups, ", "), orUnknown(ev.Cluster), ev.Verb, ev.Object()),
			After:   "acted as " + im.Username + " (groups " + strings.Join(im.Groups, ", ") + ")",
			Command: kubectl(ev.Cluster, "auth can-i impersonate groups --as "+shellQuote(ev.User.Username)),
		}}
	})},
	Examples: []Example{
		{Name: "as system:masters", Audit: `{"verb":"get","objectRef":{"resource":"secrets","namespace":"shop","name":"db"},"impersonatedUser":{"username":"admin","groups":["system:masters"]}}`, Fires: true},
		{Name: "as an ordinary group", Audit: `{"verb":"get","objectRef":{"resource":"pods","namespace":"shop"},"impersonatedUser":{"username":"tester","groups":["developers"]}}`, Fires: false},
		{Name: "by a listed admin", Audit: `{"verb":"get","user":{"username":"admin","extra":{"arn":["arn:aws:sts::111122223333:assumed-role/platform-admins/bob"],"canonicalArn":["arn:aws:iam::111122223333:role/platform-admins"]}},"objectRef":{"resource":"secrets","namespace":"shop","name":"db"},"impersonatedUser":{"username":"admin","groups":["system:masters"]}}`, Fires: false},
	},
}

// exampleAWSAuth is an aws-auth ConfigMap whose mapRoles is the given
// YAML (with \n escapes), for the examples.
func exampleAWSAuth(mapRoles string) string {
	return `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"aws-auth","namespace":"kube-system"},"data":{"mapRoles":"` + mapRoles + `\n"}}`
}

// awsAuthOf is what the decoder read of the aws-auth write (k8saudit.Decode
// sets it); an event built otherwise carries no mappings.
func awsAuthOf(ev *k8saudit.Event) *awsauth.Change {
	if ev.AWSAuth != nil {
		return ev.AWSAuth
	}
	return &awsauth.Change{}
}

// awsAuthAdminFindings reports each added mapping into a privileged group
// of a principal that is not a listed admin, or the mapping that did not parse.
func awsAuthAdminFindings(ev *k8saudit.Event, p *policy.Policy, c *awsauth.Change) []finding.Finding {
	res := "configmap " + awsauth.Namespace + "/" + awsauth.Name
	edit := kubectl(ev.Cluster, "-n kube-system edit configmap aws-auth")
	if c.Err != nil {
		return []finding.Finding{{
			Cluster: ev.Cluster, Resource: res,
			Summary: fmt.Sprintf("%s wrote an aws-auth mapping on cluster %s that does not parse: %v", by(ev), orUnknown(ev.Cluster), c.Err),
			NeedsCheck: "what the authenticator makes of the malformed mapping cannot be told from the event; read it by hand; " +
				configMapPath(ev.Cluster),
			Command: edit,
		}}
	}
	if c.Next == nil {
		return nil
	}
	var out []finding.Finding
	ms, certain := c.AddedMappings()
	for i, m := range ms {
		var priv []string
		for _, g := range m.Groups {
			if p.IsPrivilegedGroup(g) {
				priv = append(priv, g)
			}
		}
		if len(priv) == 0 || p.IsAdmin(m.ARN) {
			continue
		}
		f := finding.Finding{
			Cluster: ev.Cluster, Principal: m.ARN, Resource: res,
			Summary: fmt.Sprintf("%s mapped %s into privileged group(s) %s through aws-auth %s on cluster %s; it is not a listed admin",
				by(ev), m.ARN, strings.Join(priv, ", "), m.Key, orUnknown(ev.Cluster)),
			After:      m.String(),
			NeedsCheck: configMapPath(ev.Cluster),
			Command:    edit + "  # remove the " + m.Key + " entry of " + m.ARN,
		}
		if !certain[i] {
			f.NeedsCheck = "the record does not carry the old mapping, so this one may predate the change; " + f.NeedsCheck
		}
		out = append(out, f)
	}
	return out
}

// nodeMapping reports whether the mapping only makes its role a node.
func nodeMapping(m awsauth.Mapping) bool {
	return m.Key == awsauth.KeyRoles && len(m.Groups) > 0 && !slices.ContainsFunc(m.Groups, func(g string) bool {
		return g != "system:bootstrappers" && g != "system:nodes" && g != "system:node-proxier"
	})
}

func describeMappings(c *awsauth.Change, added []awsauth.Mapping) string {
	if c.Next == nil {
		return "the record does not carry the new mappings"
	}
	var parts []string
	for _, m := range added {
		parts = append(parts, m.String())
	}
	if accts := c.AddedAccounts(); len(accts) > 0 {
		parts = append(parts, "mapAccounts "+strings.Join(accts, ", ")+" (every IAM principal of those accounts)")
	}
	if len(parts) == 0 {
		return "no mapping added"
	}
	return "mappings set: " + strings.Join(parts, "; ")
}

// binding is a ClusterRoleBinding or RoleBinding, as far as the rules read it.
type binding struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	RoleRef struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"roleRef"`
	Subjects []subject `json:"subjects"`
}

type subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

func (s subject) String() string {
	if s.Kind == "ServiceAccount" {
		return "ServiceAccount " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// user is the subject's Kubernetes user (or group) name.
func (s subject) user() string {
	if s.Kind == "ServiceAccount" {
		return "system:serviceaccount:" + s.Namespace + ":" + s.Name
	}
	return s.Name
}

// system reports whether the subject is a Kubernetes or EKS component: a
// kube-system service account, or a system: or eks: user other than
// system:anonymous. Groups never are: system:authenticated,
// system:serviceaccounts and system:nodes take in callers anyone can be.
func (s subject) system() bool {
	switch s.Kind {
	case "ServiceAccount":
		return s.Namespace == "kube-system"
	case "User":
		return s.Name != "system:anonymous" && (strings.HasPrefix(s.Name, "system:") || strings.HasPrefix(s.Name, "eks:"))
	case "Group":
		return s.Name == "system:masters"
	}
	return false
}

func (b *binding) ref() string {
	if b.Kind == "RoleBinding" {
		return "rolebinding " + b.Metadata.Namespace + "/" + b.Metadata.Name
	}
	return "clusterrolebinding " + b.Metadata.Name
}

func (b *binding) deleteArgs() string {
	if b.Kind == "RoleBinding" {
		return "-n " + shellQuote(b.Metadata.Namespace) + " delete rolebinding " + shellQuote(b.Metadata.Name)
	}
	return "delete clusterrolebinding " + shellQuote(b.Metadata.Name)
}

func (b *binding) describe() string {
	subs := make([]string, len(b.Subjects))
	for i, s := range b.Subjects {
		subs[i] = s.String()
	}
	return fmt.Sprintf("%s %s -> %s %s: %s", b.Kind, b.Metadata.Name, b.RoleRef.Kind, b.RoleRef.Name, strings.Join(subs, ", "))
}

// readBinding reads the binding the request wrote (the response of a
// patch, the request or response of a create or update); ok is false when
// the record carries neither.
func readBinding(ev *k8saudit.Event) (*binding, bool) {
	kind := "ClusterRoleBinding"
	if ev.ObjectRef != nil && ev.ObjectRef.Resource == "rolebindings" {
		kind = "RoleBinding"
	}
	raw := auditObject(ev, kind)
	if raw == nil {
		return nil, false
	}
	var b binding
	if json.Unmarshal(raw, &b) != nil {
		return nil, false
	}
	if b.Metadata.Namespace == "" && ev.ObjectRef != nil {
		b.Metadata.Namespace = ev.ObjectRef.Namespace
	}
	if b.Metadata.Name == "" && ev.ObjectRef != nil {
		b.Metadata.Name = ev.ObjectRef.Name
	}
	return &b, true
}

func bindingFindings(ev *k8saudit.Event, p *policy.Policy, denied bool) []finding.Finding {
	b, ok := readBinding(ev)
	if !ok || b.RoleRef.Kind != "ClusterRole" || !p.IsPrivilegedClusterRole(b.RoleRef.Name) {
		return nil
	}
	var bad []subject
	for _, s := range b.Subjects {
		if !s.system() && !p.IsAdmin(s.Name) {
			bad = append(bad, s)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	names := make([]string, len(bad))
	for i, s := range bad {
		names[i] = s.String()
	}
	f := finding.Finding{
		Cluster: ev.Cluster, Resource: b.ref(),
		Summary: fmt.Sprintf("%s bound ClusterRole %s to %s on cluster %s through %s; %s",
			by(ev), b.RoleRef.Name, strings.Join(names, ", "), orUnknown(ev.Cluster), b.ref(), plural(len(bad), "it is", "they are")+" neither a system component nor a listed admin"),
		After:   b.describe(),
		Command: kubectl(ev.Cluster, b.deleteArgs()),
	}
	if len(bad) == 1 {
		f.Principal = bad[0].user()
	}
	if b.Kind == "RoleBinding" && b.Metadata.Namespace != "kube-system" {
		f.Severity = finding.High
		f.Summary += " (namespace " + b.Metadata.Namespace + " only)"
	}
	if denied {
		f.Severity = finding.Low
		f.Summary = fmt.Sprintf("%s tried to bind ClusterRole %s to %s on cluster %s through %s and was denied",
			by(ev), b.RoleRef.Name, strings.Join(names, ", "), orUnknown(ev.Cluster), b.ref())
		f.After = ""
		f.Command = kubectl(ev.Cluster, "auth can-i --list --as "+shellQuote(ev.User.Username))
	}
	return []finding.Finding{f}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// objectKind is the kind of a JSON object, "" for anything else.
func objectKind(raw []byte) string {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var o struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return o.Kind
}

// shellQuote quotes a word for a POSIX shell when it needs it: names in
// audit events are the caller's to choose.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
