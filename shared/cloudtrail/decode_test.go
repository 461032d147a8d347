package cloudtrail

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const envelopeAssociate = `{"version":"0","id":"6a7e8feb","detail-type":"AWS API Call via CloudTrail","source":"aws.eks",
"account":"111122223333","time":"2026-11-02T03:04:05Z","region":"eu-west-1","resources":[],"detail":{
"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:alice",
"arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333",
"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/team/dev-team",
"accountId":"111122223333","userName":"dev-team"},"attributes":{"creationDate":"2026-11-02T02:55:00Z","mfaAuthenticated":"true"}}},
"eventTime":"2026-11-02T03:04:05Z","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy",
"awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",
"requestParameters":{"name":"payments-prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team",
"policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}},
"responseElements":{"clusterName":"payments-prod","associatedAccessPolicy":{"associatedAt":1.700000000123E9}},
"eventID":"e1","readOnly":"False","someNewField":{"x":[1,2]},"recipientAccountId":"111122223333"}}`

func TestDecodeEnvelope(t *testing.T) {
	r, err := DecodeEvent([]byte(envelopeAssociate))
	if err != nil {
		t.Fatal(err)
	}
	if r.EventName != "AssociateAccessPolicy" || r.EventID != "e1" || r.AWSRegion != "eu-west-1" || r.Account() != "111122223333" {
		t.Errorf("common fields wrong: %+v", r)
	}
	if want := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC); !r.EventTime.Equal(want) {
		t.Errorf("eventTime = %v, want %v", r.EventTime, want)
	}
	if r.ReadOnly {
		t.Error(`readOnly "False" decoded as true`)
	}
	p, ok := r.Params.(*AccessPolicyParams)
	if !ok {
		t.Fatalf("Params is %T, want *AccessPolicyParams", r.Params)
	}
	if p.PrincipalARN != "arn:aws:iam::111122223333:role/dev-team" {
		t.Errorf("principalArn not URL-decoded: %q", p.PrincipalARN)
	}
	if p.Cluster() != "payments-prod" || p.AccessScope == nil || p.AccessScope.Type != "cluster" {
		t.Errorf("params wrong: %+v", p)
	}
	if !r.UserIdentity.MFA() {
		t.Error(`mfaAuthenticated "true" not read`)
	}
	if got := r.UserIdentity.ActorRole(); got != "arn:aws:iam::111122223333:role/team/dev-team" {
		t.Errorf("ActorRole = %q, want the session issuer", got)
	}
}

func TestDecodeRecordShapes(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		check func(t *testing.T, r *Record)
	}{
		{
			name: "failed IAM call has null parameters",
			raw: `{"eventSource":"iam.amazonaws.com","eventName":"DetachRolePolicy","errorCode":"AccessDenied",
				"errorMessage":"User is not authorized","requestParameters":null,"responseElements":null,"eventTime":"2026-01-01T00:00:00Z"}`,
			check: func(t *testing.T, r *Record) {
				if r.Params != nil || !r.Failed() || !r.Denied() || r.ErrorMessage == "" {
					t.Errorf("want failed call without params, got params=%v failed=%v", r.Params, r.Failed())
				}
			},
		},
		{
			name: "older cluster field name",
			raw:  `{"eventSource":"eks.amazonaws.com","eventName":"CreateCluster","requestParameters":{"clusterName":"old","roleArn":"arn:aws:iam::1:role/r"}}`,
			check: func(t *testing.T, r *Record) {
				if p := r.Params.(*CreateClusterParams); p.Cluster() != "old" || p.RoleARN == "" {
					t.Errorf("params %+v", p)
				}
			},
		},
		{
			name: "string booleans and both logging blocks",
			raw: `{"eventSource":"eks.amazonaws.com","eventName":"UpdateClusterConfig","requestParameters":{"name":"c",
				"resourcesVpcConfig":{"endpointPublicAccess":"true","endpointPrivateAccess":false},
				"logging":{"clusterLogging":[{"types":["api"],"enabled":true},{"types":["audit","authenticator"],"enabled":"false"}]}}}`,
			check: func(t *testing.T, r *Record) {
				p := r.Params.(*ClusterConfigParams)
				v := p.ResourcesVPCConfig
				if v.EndpointPublicAccess == nil || !bool(*v.EndpointPublicAccess) || v.EndpointPrivateAccess == nil || bool(*v.EndpointPrivateAccess) {
					t.Errorf("endpoint flags wrong: %+v", v)
				}
				if got := strings.Join(p.Logging.Disabled(), ","); got != "audit,authenticator" {
					t.Errorf("Disabled = %s", got)
				}
				if got := strings.Join(p.Logging.Enabled(), ","); got != "api" {
					t.Errorf("Enabled = %s", got)
				}
			},
		},
		{
			name: "epoch event time",
			raw:  `{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","eventTime":1700000000,"requestParameters":{"name":"c"}}`,
			check: func(t *testing.T, r *Record) {
				if r.EventTime.Unix() != 1700000000 {
					t.Errorf("eventTime = %v", r.EventTime)
				}
			},
		},
		{
			name: "disassociate with both ARNs encoded",
			raw: `{"eventSource":"eks.amazonaws.com","eventName":"DisassociateAccessPolicy","requestParameters":{"name":"c",
				"principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbreak-glass",
				"policyArn":"arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy"}}`,
			check: func(t *testing.T, r *Record) {
				p := r.Params.(*AccessPolicyParams)
				if p.PrincipalARN != "arn:aws:iam::111122223333:role/break-glass" ||
					p.PolicyARN != "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" {
					t.Errorf("ARNs not decoded: %+v", p)
				}
			},
		},
		{
			name: "assumed role without session context",
			raw: `{"eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","userIdentity":{"type":"AssumedRole",
				"arn":"arn:aws:sts::111122223333:assumed-role/deployer/ci"},"requestParameters":{"roleName":"r","policyName":"p","policyDocument":"{}"}}`,
			check: func(t *testing.T, r *Record) {
				if got := r.UserIdentity.ActorRole(); got != "arn:aws:iam::111122223333:role/deployer" {
					t.Errorf("ActorRole = %q", got)
				}
			},
		},
		{
			name: "out of scope event keeps no params",
			raw:  `{"eventSource":"ecs.amazonaws.com","eventName":"CreateCluster","requestParameters":{"clusterName":5}}`,
			check: func(t *testing.T, r *Record) {
				if r.Params != nil {
					t.Errorf("Params = %v, want nil", r.Params)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRecord([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"wrong type in params", `{"eventSource":"eks.amazonaws.com","eventName":"CreateAccessEntry","requestParameters":{"name":"c","principalArn":42}}`,
			[]string{"decode CreateAccessEntry requestParameters", "principalArn", "number"}},
		{"bad URL encoding", `{"eventSource":"eks.amazonaws.com","eventName":"DeleteAccessEntry","requestParameters":{"name":"c","principalArn":"arn%ZZ"}}`,
			[]string{"decode DeleteAccessEntry requestParameters", "principalArn", "bad URL encoding"}},
		{"bad boolean", `{"eventSource":"eks.amazonaws.com","eventName":"UpdateClusterConfig","requestParameters":{"name":"c","resourcesVpcConfig":{"endpointPublicAccess":"maybe"}}}`,
			[]string{"decode UpdateClusterConfig requestParameters", "resourcesVpcConfig.endpointPublicAccess"}},
		{"bad timestamp", `{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","eventTime":"yesterday"}`,
			[]string{"decode record", "eventTime", "timestamp"}},
		{"not cloudtrail", `{"hello":"world"}`, []string{"not a CloudTrail record"}},
		{"envelope without detail", `{"detail-type":"AWS API Call via CloudTrail","id":"x","detail":null}`, []string{"envelope x", "detail"}},
		{"envelope with broken detail", `{"detail-type":"AWS API Call via CloudTrail","id":"x","detail":{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{"roleName":["a"]}}}`,
			[]string{"envelope x detail", "decode AttachRolePolicy requestParameters", "roleName"}},
		{"truncated JSON", `{"eventSource":"eks.amazonaws.com"`, []string{"decode record"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.raw))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := DecodeEvent([]byte(`{"a":1}`)); !errors.Is(err, ErrNotCloudTrail) {
		t.Errorf("want ErrNotCloudTrail, got %v", err)
	}
}

func TestConsoleAndRoleHelpers(t *testing.T) {
	r := &Record{SessionCredentialFromConsole: true}
	if !r.Console() {
		t.Error("console session not detected")
	}
	if (&Record{UserAgent: "aws-cli/2"}).Console() {
		t.Error("CLI call taken for console")
	}
	sess := Identity{Type: "AssumedRole", ARN: "arn:aws-us-gov:sts::111122223333:assumed-role/ops/alice"}
	if got := sess.ActorRole(); got != "arn:aws-us-gov:iam::111122223333:role/ops" {
		t.Errorf("session without issuer: role %q", got)
	}
	id := Identity{Type: "IAMUser", ARN: "arn:aws:iam::1:user/bob"}
	if id.ActorRole() != "arn:aws:iam::1:user/bob" || id.MFA() {
		t.Errorf("IAM user identity: role %q mfa %v", id.ActorRole(), id.MFA())
	}
}
