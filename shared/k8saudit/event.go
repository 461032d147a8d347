// Package k8saudit decodes the Kubernetes API server's audit log as EKS
// writes it to CloudWatch Logs: audit.k8s.io/v1 Events, one per log event,
// and the CloudWatch Logs subscription payload that carries them to a
// Lambda function. It decodes only what eksguard's rules read, with
// encoding/json; it does not import the Kubernetes libraries.
package k8saudit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/awsauth"
)

// APIVersion is the audit event API version EKS writes.
const APIVersion = "audit.k8s.io/v1"

// StageResponseComplete is the stage of an event written once the response
// was sent: the one that carries the response status and object.
const StageResponseComplete = "ResponseComplete"

// The user.extra keys under which EKS's authenticator records the IAM
// identity behind a Kubernetes user.
const (
	ExtraARN          = "arn"
	ExtraCanonicalARN = "canonicalArn"
	ExtraSessionName  = "sessionName"
	ExtraPrincipalID  = "principalId"
	ExtraAccessKeyID  = "accessKeyId"
)

// Event is one audit event (audit.k8s.io/v1 Event), with the fields
// eksguard reads. Cluster, Account and Region are not in the event: they
// come from where it was read (the log group, the subscription's owner,
// the function's region).
type Event struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Level      string `json:"level"`
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	// Verb is the Kubernetes verb: get, list, watch, create, update,
	// patch, delete, deletecollection (or an HTTP verb for non-resource
	// requests).
	Verb             string           `json:"verb"`
	User             UserInfo         `json:"user"`
	ImpersonatedUser *UserInfo        `json:"impersonatedUser,omitempty"`
	SourceIPs        []string         `json:"sourceIPs,omitempty"`
	UserAgent        string           `json:"userAgent,omitempty"`
	ObjectRef        *ObjectReference `json:"objectRef,omitempty"`
	ResponseStatus   *Status          `json:"responseStatus,omitempty"`
	// RequestObject and ResponseObject are present at Request and
	// RequestResponse level; for a patch the request is the patch.
	RequestObject            json.RawMessage   `json:"requestObject,omitempty"`
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"`
	RequestReceivedTimestamp time.Time         `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time         `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`

	Cluster string `json:"-"`
	Account string `json:"-"`
	Region  string `json:"-"`
	// AWSAuth, for an update or patch of kube-system/aws-auth, is what the
	// request did to its mappings (the YAML inside decoded, strictly).
	AWSAuth *awsauth.Change `json:"-"`
}

// UserInfo is an authenticated (or impersonated) Kubernetes user.
type UserInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// ObjectReference names the object a request was about.
type ObjectReference struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

// Status is the response status (metav1.Status, the fields we read).
type Status struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Code    int    `json:"code,omitempty"`
}

// ErrNotAudit is returned for JSON that is not an audit.k8s.io Event.
var ErrNotAudit = errors.New("not an audit.k8s.io/v1 Event")

// Decode reads one audit event. It fails on JSON that does not decode, on
// an object that is not an audit.k8s.io/v1 Event (wrapping ErrNotAudit),
// and on an event without an auditID or verb.
func Decode(raw []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode audit event: %w", err)
	}
	if ev.Kind != "Event" || ev.APIVersion != APIVersion {
		return nil, fmt.Errorf("decode audit event: kind %q apiVersion %q: %w", ev.Kind, ev.APIVersion, ErrNotAudit)
	}
	if ev.AuditID == "" {
		return nil, errors.New("decode audit event: no auditID")
	}
	if ev.Verb == "" {
		return nil, fmt.Errorf("decode audit event %s: no verb", ev.AuditID)
	}
	if ev.Is("configmaps", awsauth.Namespace, awsauth.Name) && (ev.Verb == "update" || ev.Verb == "patch") {
		ev.AWSAuth = awsauth.Read(ev.RequestObject, ev.ResponseObject)
	}
	return &ev, nil
}

// Looks reports, without decoding, whether raw may be an audit event: it
// names the audit API version near its start, where the API server writes
// kind and apiVersion. Replay uses it to tell audit events from CloudTrail
// records.
func Looks(raw []byte) bool {
	return strings.Contains(string(raw[:min(len(raw), 512)]), `"audit.k8s.io/v1"`)
}

// Code is the response status code, 0 when the event records none.
func (e *Event) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// Failed reports whether the request failed (a 4xx or 5xx response).
func (e *Event) Failed() bool { return e.Code() >= 400 }

// Denied reports whether the request was refused for lack of permission:
// a 403, or the authorizer's forbid decision.
func (e *Event) Denied() bool {
	return e.Code() == 403 || e.Annotations["authorization.k8s.io/decision"] == "forbid"
}

// Complete reports whether this is the event written with the response,
// the one a rule judges (EKS omits the RequestReceived stage; a request
// logged at two stages is judged once).
func (e *Event) Complete() bool { return e.Stage == StageResponseComplete }

// Is reports whether the event is about the named object (empty namespace
// or name matches any).
func (e *Event) Is(resource, namespace, name string) bool {
	o := e.ObjectRef
	return o != nil && o.Resource == resource && (namespace == "" || o.Namespace == namespace) && (name == "" || o.Name == name)
}

// Object names the object, e.g. "configmaps kube-system/aws-auth".
func (e *Event) Object() string {
	o := e.ObjectRef
	if o == nil {
		return e.RequestURI
	}
	s := o.Resource
	if o.Subresource != "" {
		s += "/" + o.Subresource
	}
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	if name != "" {
		s += " " + name
	}
	return s
}

// extra is the first value of a user.extra key.
func (u *UserInfo) extra(key string) string {
	if v := u.Extra[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ARN is the IAM ARN the caller authenticated as (an STS assumed-role
// session ARN, or an IAM user ARN), "" for a caller EKS did not map from IAM.
func (u *UserInfo) ARN() string { return u.extra(ExtraARN) }

// CanonicalARN is the IAM role or user behind ARN (the role of a session).
func (u *UserInfo) CanonicalARN() string { return u.extra(ExtraCanonicalARN) }

// SessionName is the STS session name, when the caller is a session.
func (u *UserInfo) SessionName() string { return u.extra(ExtraSessionName) }

// PrincipalID is the IAM unique ID of the caller.
func (u *UserInfo) PrincipalID() string { return u.extra(ExtraPrincipalID) }

// AccessKeyID is the access key the caller signed with.
func (u *UserInfo) AccessKeyID() string { return u.extra(ExtraAccessKeyID) }

// Principal is the IAM principal behind the caller, for matching against
// the policy: the canonical ARN, else the ARN, else the Kubernetes user name.
func (u *UserInfo) Principal() string {
	for _, s := range []string{u.CanonicalARN(), u.ARN()} {
		if s != "" {
			return s
		}
	}
	return u.Username
}
