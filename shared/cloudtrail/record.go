// Package cloudtrail decodes the CloudTrail records eksguard acts on, bare
// or in their EventBridge envelope, with encoding/json.
// It absorbs the quirks of real records (URL-encoded ARNs, null parameters
// on failed IAM calls, string booleans, epoch timestamps) so the rules see
// clean typed values, and Peek tells an out-of-scope record without
// decoding it. Splitting archives (S3 log files, gzip) into records is
// shared/trailfile's job.
package cloudtrail

import (
	"encoding/json"
	"strings"

	"github.com/eksguard/eksguard/shared/identity"
)

// Record is one CloudTrail management event.
type Record struct {
	EventVersion       string   `json:"eventVersion"`
	EventID            string   `json:"eventID"`
	EventTime          Time     `json:"eventTime"`
	EventSource        string   `json:"eventSource"`
	EventName          string   `json:"eventName"`
	AWSRegion          string   `json:"awsRegion"`
	RecipientAccountID string   `json:"recipientAccountId"`
	SourceIPAddress    string   `json:"sourceIPAddress"`
	UserAgent          string   `json:"userAgent"`
	ErrorCode          string   `json:"errorCode"`
	ErrorMessage       string   `json:"errorMessage"`
	ReadOnly           Bool     `json:"readOnly"`
	UserIdentity       Identity `json:"userIdentity"`
	// SessionCredentialFromConsole is "true" for console sessions.
	SessionCredentialFromConsole Bool            `json:"sessionCredentialFromConsole"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`

	// Params holds the typed request parameters of an in-scope event (one of
	// the *Params types of this package), or nil when the call carried none
	// (failed IAM calls) or the event is not in scope.
	Params any `json:"-"`
}

// Identity is the userIdentity block: who made the call.
type Identity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *SessionContext `json:"sessionContext"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	} `json:"sessionIssuer"`
	Attributes struct {
		CreationDate     Time `json:"creationDate"`
		MFAAuthenticated Bool `json:"mfaAuthenticated"`
	} `json:"attributes"`
}

// Failed reports whether the call was rejected (errorCode is set).
func (r *Record) Failed() bool { return r.ErrorCode != "" }

// Denied reports whether the call was rejected for lack of permission.
func (r *Record) Denied() bool {
	c := r.ErrorCode
	return c != "" && (strings.Contains(c, "AccessDenied") || strings.Contains(c, "UnauthorizedOperation") ||
		strings.Contains(c, "Unauthorized") || c == "Client.UnauthorizedOperation")
}

// ActorRole is the IAM identity that stands behind the call: the role an
// assumed-role session came from (its session issuer), or the user or role ARN itself.
func (i *Identity) ActorRole() string {
	if i.SessionContext != nil && i.SessionContext.SessionIssuer.ARN != "" {
		return i.SessionContext.SessionIssuer.ARN
	}
	if i.Type == "AssumedRole" {
		if role, ok := identity.RoleFromSession(i.ARN); ok {
			return role
		}
	}
	return i.ARN
}

// MFA reports whether the session was authenticated with MFA.
func (i *Identity) MFA() bool {
	return i.SessionContext != nil && bool(i.SessionContext.Attributes.MFAAuthenticated)
}

// Console reports whether the call came from the AWS console.
func (r *Record) Console() bool {
	return bool(r.SessionCredentialFromConsole) || strings.Contains(r.UserAgent, "console.amazonaws.com") ||
		strings.Contains(r.UserAgent, "AWS Internal")
}

// Account is the account the event happened in.
func (r *Record) Account() string {
	if r.RecipientAccountID != "" {
		return r.RecipientAccountID
	}
	return r.UserIdentity.AccountID
}
