package awsfake

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Principal is the identity behind one access key: a session of an IAM
// role and the identity-based policies of that role.
type Principal struct {
	AccessKey string
	// RoleARN is the role's ARN; its account is the account of every
	// resource the principal's calls name.
	RoleARN string
	// Session is the role session name (the assumed-role ARN in denial
	// messages ends in it).
	Session string
	Policy  []Statement
}

// Authorization is one decision the fakes made.
type Authorization struct {
	Caller  string // the principal's role ARN
	Service string
	Op      string
	Request
	Decision
}

// String renders the decision as "allowed|denied role action on resource: reason".
func (a Authorization) String() string {
	verdict := "denied"
	if a.Allowed {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s %s %s on %s: %s", verdict, a.Caller[strings.LastIndexByte(a.Caller, '/')+1:], a.Action, a.Resource, a.Reason)
}

// authorizer holds the principals a World enforces and every decision.
type authorizer struct {
	mu        sync.Mutex
	on        bool
	byKey     map[string]Principal
	decisions []Authorization
}

// Enforce makes every fake of the World authorize each request as IAM
// would: the access key of the request's SigV4 Authorization header
// (Credential=AKID/date/region/service/aws4_request) names the principal,
// and the call's action, resource ARN (in the principal's account and the
// request's signing region) and condition keys are evaluated against the
// principal's policy. A call the policy does not allow gets the service's
// access-denied error; a request signed with a key no principal has gets
// the service's invalid-token error. Enforce may be called again to add
// principals; World.Reset keeps them and the decisions.
func (w *World) Enforce(principals ...Principal) error {
	a := w.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range principals {
		if p.AccessKey == "" || !strings.HasPrefix(p.RoleARN, "arn:") {
			return fmt.Errorf("awsfake: principal %+v needs an access key and a role ARN", p)
		}
		if err := Validate(p.Policy); err != nil {
			return fmt.Errorf("awsfake: policy of %s: %w", p.RoleARN, err)
		}
		if a.byKey == nil {
			a.byKey = map[string]Principal{}
		}
		a.byKey[p.AccessKey] = p
	}
	a.on = true
	return nil
}

// Authorizations returns every decision made since Enforce.
func (w *World) Authorizations() []Authorization {
	w.auth.mu.Lock()
	defer w.auth.mu.Unlock()
	return append([]Authorization(nil), w.auth.decisions...)
}

// Denied returns the decisions since Enforce that denied a call.
func (w *World) Denied() []Authorization {
	var out []Authorization
	for _, a := range w.Authorizations() {
		if !a.Allowed {
			out = append(out, a)
		}
	}
	return out
}

// signer reads the access key and signing region of a SigV4 request.
func signer(r *http.Request) (key, region string, ok bool) {
	h := r.Header.Get("Authorization")
	_, cred, found := strings.Cut(h, "Credential=")
	if !found || !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		return "", "", false
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// scope is where a call's resources live.
type scope struct {
	Partition, Region, Account string
}

func (s scope) arn(service, resource string) string {
	region := s.Region
	if service == "iam" {
		region = ""
	}
	return "arn:" + s.Partition + ":" + service + ":" + region + ":" + s.Account + ":" + resource
}

// iamModel is how one fake is authorized: the service prefix of its
// actions, the resource and context of each call, and the errors IAM's
// answers take in the service's protocol.
type iamModel struct {
	prefix string
	// target names the resource and condition keys of a call; ok is false
	// for a request the fake does not know (it answers that itself).
	target func(r *http.Request, body []byte, op string, s scope) (resource string, ctx map[string][]string, ok bool)
	denied Fault // status and code of an access-denied answer
	badKey Fault // status and code for an unknown access key
}

// authorize decides a request; it writes the error answer and returns
// false when the call may not proceed.
func (s *server) authorize(w http.ResponseWriter, r *http.Request, body []byte, c *Call) bool {
	a := s.auth
	a.mu.Lock()
	on := a.on
	key, region, signed := signer(r)
	p, known := a.byKey[key]
	a.mu.Unlock()
	if !on {
		return true
	}
	if !signed || !known {
		f := s.iam.badKey
		f.Message = "The security token included in the request is invalid."
		if !signed {
			f.Message = "Missing or malformed SigV4 Authorization header."
		}
		c.Denied = true
		s.writeFn(w, f)
		return false
	}
	c.Caller = p.RoleARN
	parts := strings.SplitN(p.RoleARN, ":", 6)
	sc := scope{Partition: parts[1], Region: region, Account: parts[4]}
	resource, ctx, ok := s.iam.target(r, body, c.Op, sc)
	if !ok {
		return true
	}
	req := Request{Action: s.iam.prefix + ":" + c.Op, Resource: resource, Context: ctx}
	d, err := Evaluate(p.Policy, req)
	if err != nil {
		// Validate refuses such policies; fail loudly all the same.
		d = Decision{Reason: "awsfake cannot evaluate the policy: " + err.Error()}
	}
	a.mu.Lock()
	a.decisions = append(a.decisions, Authorization{Caller: p.RoleARN, Service: s.service, Op: c.Op, Request: req, Decision: d})
	a.mu.Unlock()
	if d.Allowed {
		return true
	}
	c.Denied = true
	session := "arn:" + sc.Partition + ":sts::" + sc.Account + ":assumed-role/" + p.RoleARN[strings.LastIndexByte(p.RoleARN, '/')+1:] + "/" + p.Session
	f := s.iam.denied
	f.Message = fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because %s", session, req.Action, resource, strings.TrimPrefix(d.Reason, "explicitly "))
	s.writeFn(w, f)
	return false
}

// The per-service models, from the Service Authorization Reference's
// resource types and condition keys of each action the fakes serve.

var eksModel = iamModel{
	prefix: "eks",
	denied: Fault{Status: http.StatusForbidden, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusForbidden, Code: "UnrecognizedClientException"},
	target: func(r *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		seg := eksSegments(r)
		switch op {
		case "ListClusters":
			return "*", nil, true
		case "DescribeCluster", "UpdateClusterConfig", "ListNodegroups":
			return s.arn("eks", "cluster/"+seg[1]), nil, true
		case "DescribeNodegroup":
			return s.arn("eks", "nodegroup/"+seg[1]+"/"+seg[3]+"/"+fakeUUID(seg[1]+"/"+seg[3])), nil, true
		case "DescribeAccessEntry", "UpdateAccessEntry", "DeleteAccessEntry", "ListAssociatedAccessPolicies", "DisassociateAccessPolicy":
			return s.arn("eks", accessEntryResource(seg[1], seg[3])), nil, true
		case "DescribeIdentityProviderConfig", "DisassociateIdentityProviderConfig":
			var in struct {
				IdentityProviderConfig struct {
					Name string `json:"name"`
				} `json:"identityProviderConfig"`
			}
			if json.Unmarshal(body, &in) != nil {
				return "", nil, false
			}
			return s.arn("eks", identityProviderResource(seg[1], in.IdentityProviderConfig.Name)), nil, true
		case "DescribePodIdentityAssociation", "DeletePodIdentityAssociation":
			return s.arn("eks", "podidentityassociation/"+seg[1]+"/"+seg[3]), nil, true
		}
		return "", nil, false
	},
}

// accessEntryResource is the access-entry resource of a principal on a
// cluster: access-entry/cluster/type/account/name/uuid.
func accessEntryResource(cluster, principalARN string) string {
	typ, acct, name := "role", "", principalARN
	if parts := strings.SplitN(principalARN, ":", 6); len(parts) == 6 {
		acct = parts[4]
		typ, name, _ = strings.Cut(parts[5], "/")
		name = name[strings.LastIndexByte(name, '/')+1:]
	}
	return "access-entry/" + cluster + "/" + typ + "/" + acct + "/" + name + "/" + fakeUUID(cluster+"/"+principalARN)
}

// identityProviderResource is the resource of an OIDC identity provider
// config: identityproviderconfig/cluster/oidc/name/uuid.
func identityProviderResource(cluster, name string) string {
	return "identityproviderconfig/" + cluster + "/oidc/" + name + "/" + fakeUUID(cluster+"/oidc/"+name)
}

// fakeUUID is a stable ID in the shape of the generated ones EKS puts at
// the end of access-entry and node-group ARNs.
func fakeUUID(s string) string {
	h := crc32.ChecksumIEEE([]byte(s))
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", h, h)
}

var iamServiceModel = iamModel{
	prefix: "iam",
	denied: Fault{Status: http.StatusForbidden, Code: "AccessDenied"},
	badKey: Fault{Status: http.StatusForbidden, Code: "InvalidClientTokenId"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		v, _ := url.ParseQuery(string(body))
		role := s.arn("iam", "role/"+v.Get("RoleName"))
		switch op {
		case "ListAttachedRolePolicies":
			return role, nil, true
		case "AttachRolePolicy", "DetachRolePolicy":
			return role, map[string][]string{"iam:PolicyARN": {v.Get("PolicyArn")}}, true
		}
		return "", nil, false
	},
}

// jsonField reads a top-level string of a JSON request body.
func jsonField(body []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[name].(string)
	return s
}

var dynamoDBModel = iamModel{
	prefix: "dynamodb",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusBadRequest, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		switch op {
		case "GetItem", "PutItem", "UpdateItem", "DeleteItem":
			t := jsonField(body, "TableName")
			if strings.HasPrefix(t, "arn:") {
				return t, nil, true
			}
			return s.arn("dynamodb", "table/"+t), nil, true
		}
		return "", nil, false
	},
}

var sqsModel = iamModel{
	prefix: "sqs",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusForbidden, Code: "InvalidClientTokenId"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		if op != "SendMessage" {
			return "", nil, false
		}
		// https://sqs.region.amazonaws.com/account/name
		u := jsonField(body, "QueueUrl")
		parts := strings.Split(strings.TrimRight(u, "/"), "/")
		if len(parts) < 2 {
			return s.arn("sqs", u), nil, true
		}
		return "arn:" + s.Partition + ":sqs:" + s.Region + ":" + parts[len(parts)-2] + ":" + parts[len(parts)-1], nil, true
	},
}

var ssmModel = iamModel{
	prefix: "ssm",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusBadRequest, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		if op != "GetParameter" && op != "PutParameter" {
			return "", nil, false
		}
		name := jsonField(body, "Name")
		if strings.HasPrefix(name, "arn:") {
			return name, nil, true
		}
		return s.arn("ssm", "parameter/"+strings.TrimPrefix(name, "/")), nil, true
	},
}

var snsModel = iamModel{
	prefix: "sns",
	denied: Fault{Status: http.StatusForbidden, Code: "AuthorizationError"},
	badKey: Fault{Status: http.StatusForbidden, Code: "InvalidClientTokenId"},
	target: func(_ *http.Request, body []byte, op string, _ scope) (string, map[string][]string, bool) {
		if op != "Publish" {
			return "", nil, false
		}
		v, _ := url.ParseQuery(string(body))
		return v.Get("TopicArn"), nil, true
	},
}

var secretsManagerModel = iamModel{
	prefix: "secretsmanager",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusBadRequest, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		if op != "GetSecretValue" {
			return "", nil, false
		}
		id := jsonField(body, "SecretId")
		if strings.HasPrefix(id, "arn:") {
			return id, nil, true
		}
		return s.arn("secretsmanager", "secret:"+id), nil, true
	},
}
