package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

const account = "111122223333"

var (
	regions  = []string{"eu-west-1", "eu-west-1", "us-east-1", "us-east-1", "us-west-2", "ap-southeast-2"}
	clusters = []string{"payments-prod", "payments-staging", "checkout-prod", "data-platform", "ml-training", "internal-tools"}
	// The quarter the archive covers.
	start = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	span  = 92 * 24 * time.Hour
)

// record is a CloudTrail management event, fields in the order CloudTrail writes them.
type record struct {
	EventVersion                 string    `json:"eventVersion"`
	UserIdentity                 *identity `json:"userIdentity"`
	EventTime                    string    `json:"eventTime"`
	EventSource                  string    `json:"eventSource"`
	EventName                    string    `json:"eventName"`
	AWSRegion                    string    `json:"awsRegion"`
	SourceIPAddress              string    `json:"sourceIPAddress"`
	UserAgent                    string    `json:"userAgent"`
	ErrorCode                    string    `json:"errorCode,omitempty"`
	ErrorMessage                 string    `json:"errorMessage,omitempty"`
	RequestParameters            any       `json:"requestParameters"`
	ResponseElements             any       `json:"responseElements"`
	AdditionalEventData          any       `json:"additionalEventData,omitempty"`
	RequestID                    string    `json:"requestID"`
	EventID                      string    `json:"eventID"`
	ReadOnly                     bool      `json:"readOnly"`
	Resources                    []obj     `json:"resources,omitempty"`
	EventType                    string    `json:"eventType"`
	ManagementEvent              bool      `json:"managementEvent"`
	RecipientAccountID           string    `json:"recipientAccountId"`
	SharedEventID                string    `json:"sharedEventID,omitempty"`
	VPCEndpointID                string    `json:"vpcEndpointId,omitempty"`
	EventCategory                string    `json:"eventCategory"`
	TLSDetails                   *tls      `json:"tlsDetails,omitempty"`
	SessionCredentialFromConsole string    `json:"sessionCredentialFromConsole,omitempty"`
}

type identity struct {
	Type           string   `json:"type"`
	PrincipalID    string   `json:"principalId,omitempty"`
	ARN            string   `json:"arn,omitempty"`
	AccountID      string   `json:"accountId,omitempty"`
	AccessKeyID    string   `json:"accessKeyId,omitempty"`
	UserName       string   `json:"userName,omitempty"`
	SessionContext *session `json:"sessionContext,omitempty"`
	InvokedBy      string   `json:"invokedBy,omitempty"`
}

type session struct {
	SessionIssuer       obj `json:"sessionIssuer"`
	WebIDFederationData obj `json:"webIdFederationData"`
	Attributes          obj `json:"attributes"`
	EC2RoleDelivery     any `json:"ec2RoleDelivery,omitempty"`
}

type tls struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// obj is a JSON object; encoding/json writes its keys sorted.
type obj = map[string]any

// generator makes files and records; all randomness comes from rng.
type generator struct {
	rng     *rand.Rand
	seed    uint64
	inScope float64
	buf     bytes.Buffer
	enc     *json.Encoder
	now     time.Time
	region  string
}

func newGenerator(seed uint64, inScope float64) *generator {
	g := &generator{seed: seed, inScope: inScope}
	g.enc = json.NewEncoder(&g.buf)
	g.enc.SetEscapeHTML(false) // CloudTrail does not escape <, > and &
	return g
}

// file returns file i: its path inside the archive, its content, and how
// many records (and in-scope records) it holds. Each file has its own
// random stream, so file i is the same whatever was generated before it.
func (g *generator) file(i int) (path string, body []byte, records, inScope int) {
	g.rng = rand.New(rand.NewPCG(g.seed, uint64(i)))
	g.region = pick(g.rng, regions)
	// CloudTrail delivers a file about every five minutes per region; busy
	// accounts fill them with hundreds to a few thousand records.
	g.now = start.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Minute)
	n := 150 + g.rng.IntN(1800)
	g.buf.Reset()
	g.buf.WriteString(`{"Records":[`)
	for j := range n {
		if j > 0 {
			g.buf.WriteByte(',')
		}
		g.now = g.now.Add(time.Duration(g.rng.IntN(400)) * time.Millisecond)
		var r *record
		if g.rng.Float64() < g.inScope {
			r = g.relevant()
			inScope++
		} else {
			r = g.noise()
		}
		if err := g.enc.Encode(r); err != nil {
			panic(err) // only plain data above: cannot happen
		}
		g.buf.Truncate(g.buf.Len() - 1) // Encode's newline
	}
	g.buf.WriteString("]}")
	path = fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", account, g.region,
		g.now.Format("2006/01/02"), account, g.region, g.now.Format("20060102T1504Z"), g.hex(16))
	return path, bytes.Clone(g.buf.Bytes()), n, inScope
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

const hexDigits = "0123456789abcdef"

func (g *generator) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *generator) upper(n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[g.rng.IntN(len(alpha))]
	}
	return string(b)
}

func (g *generator) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-4" + g.hex(3) + "-" + g.hex(4) + "-" + g.hex(12)
}

func (g *generator) ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (g *generator) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(4), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func (g *generator) publicIP() string {
	return pick(g.rng, []string{"198.51.100.", "203.0.113.", "192.0.2."}) + fmt.Sprint(1+g.rng.IntN(254))
}

// Identities.

func (g *generator) assumedRole(role, sessionName string) *identity {
	roleID := "AROA" + g.upper(17)
	return &identity{
		Type:        "AssumedRole",
		PrincipalID: roleID + ":" + sessionName,
		ARN:         "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + sessionName,
		AccountID:   account,
		AccessKeyID: "ASIA" + g.upper(16),
		SessionContext: &session{
			SessionIssuer: obj{"type": "Role", "principalId": roleID, "arn": "arn:aws:iam::" + account + ":role/" + role,
				"accountId": account, "userName": role},
			WebIDFederationData: obj{},
			Attributes: obj{"creationDate": g.ts(g.now.Add(-time.Duration(g.rng.IntN(3600)) * time.Second)),
				"mfaAuthenticated": "false"},
		},
	}
}

func (g *generator) nodeIdentity(cluster string) *identity {
	id := g.assumedRole(cluster+"-node-role", "i-0"+g.hex(16))
	id.SessionContext.EC2RoleDelivery = "2.0"
	return id
}

func (g *generator) person() *identity {
	user := pick(g.rng, []string{"alex.kim", "jane.doe", "sam.patel", "lee.chen", "maria.garcia"})
	role := pick(g.rng, []string{"dev-team", "platform-admins", "data-team", "readonly"})
	id := g.assumedRole(role, user+"@example.com")
	if g.rng.IntN(4) == 0 {
		id.SessionContext.Attributes["mfaAuthenticated"] = "true"
	}
	return id
}

func (g *generator) automation() *identity {
	return g.assumedRole(pick(g.rng, []string{"terraform-deployer", "github-actions-ci", "argocd-image-updater"}),
		pick(g.rng, []string{"terraform", "GitHubActions", "aws-go-sdk-" + fmt.Sprint(g.rng.Int64N(1e13))}))
}

func (g *generator) service(host string) *identity {
	return &identity{Type: "AWSService", InvokedBy: host}
}

// Noise.

var userAgents = []string{
	"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0",
	"aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)",
	"Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144",
	"aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.97 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off md/command#eks.describe-cluster",
	"Terraform/1.9.3 (+https://www.terraform.io) terraform-provider-aws/5.60.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
	"kubernetes/v1.30.2-eks-1552ad0",
	"amazon-vpc-cni-k8s/v1.18.3",
	"karpenter.sh-0.37.0",
	"[Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36]",
}

// noise returns an event no eksguard rule looks at, in the proportions an
// EKS-heavy account produces them.
func (g *generator) noise() *record {
	cluster := pick(g.rng, clusters)
	r := &record{
		EventVersion: "1.09", EventTime: g.ts(g.now), AWSRegion: g.region,
		UserAgent: pick(g.rng, userAgents), RequestID: g.uuid(), EventID: g.uuid(),
		ReadOnly: true, EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: account,
		EventCategory: "Management",
	}
	host := func(svc string) {
		r.EventSource = svc + ".amazonaws.com"
		r.TLSDetails = &tls{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
			ClientProvidedHostHeader: svc + "." + g.region + ".amazonaws.com"}
	}
	switch k := g.rng.IntN(100); {
	case k < 30: // the VPC CNI and Karpenter describing the network
		host("ec2")
		r.UserIdentity = g.nodeIdentity(cluster)
		r.SourceIPAddress = g.privateIP()
		r.EventName = pick(g.rng, []string{"DescribeInstances", "DescribeNetworkInterfaces", "DescribeSubnets", "DescribeSecurityGroups", "DescribeLaunchTemplateVersions"})
		r.RequestParameters = obj{"filterSet": obj{"items": []obj{{"name": "tag:kubernetes.io/cluster/" + cluster,
			"valueSet": obj{"items": []obj{{"value": "owned"}}}}}}, "maxResults": 1000}
		if g.rng.IntN(10) == 0 {
			r.ErrorCode, r.ErrorMessage = "Client.RequestLimitExceeded", "Request limit exceeded."
		}
	case k < 40: // ENIs and addresses for pods
		host("ec2")
		r.UserIdentity = g.nodeIdentity(cluster)
		r.SourceIPAddress = g.privateIP()
		r.ReadOnly = false
		r.EventName = pick(g.rng, []string{"AssignPrivateIpAddresses", "CreateNetworkInterface", "AttachNetworkInterface", "CreateTags"})
		eni := "eni-0" + g.hex(16)
		r.RequestParameters = obj{"networkInterfaceId": eni, "secondaryPrivateIpAddressCount": 1 + g.rng.IntN(14)}
		r.ResponseElements = obj{"requestId": r.RequestID, "_return": true,
			"assignedPrivateIpAddressesSet": obj{"assignedPrivateIpAddressSet": []obj{{"privateIpAddress": g.privateIP()}}}}
	case k < 55: // credentials for pods (IRSA, Pod Identity) and nodes
		host("sts")
		r.EventName = pick(g.rng, []string{"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"})
		r.UserIdentity = g.service("pods.eks.amazonaws.com")
		r.SourceIPAddress = "pods.eks.amazonaws.com"
		role := "arn:aws:iam::" + account + ":role/" + cluster + "-" + pick(g.rng, []string{"external-dns", "ebs-csi", "aws-load-balancer-controller", "app"})
		r.RequestParameters = obj{"roleArn": role, "roleSessionName": "eks-" + cluster + "-" + g.hex(8), "durationSeconds": 3600}
		r.ResponseElements = obj{"credentials": obj{"accessKeyId": "ASIA" + g.upper(16), "sessionToken": g.upper(120),
			"expiration": g.now.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM")},
			"assumedRoleUser": obj{"assumedRoleId": "AROA" + g.upper(17) + ":eks-" + cluster, "arn": role}}
		r.Resources = []obj{{"accountId": account, "type": "AWS::IAM::Role", "ARN": role}}
		r.SharedEventID = g.uuid()
	case k < 65:
		host("kms")
		r.UserIdentity = g.service("ebs.amazonaws.com")
		r.SourceIPAddress = "ebs.amazonaws.com"
		r.EventName = pick(g.rng, []string{"Decrypt", "GenerateDataKeyWithoutPlaintext", "CreateGrant"})
		key := "arn:aws:kms:" + g.region + ":" + account + ":key/" + g.uuid()
		r.RequestParameters = obj{"encryptionContext": obj{"aws:ebs:id": "vol-0" + g.hex(16)}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": key}
		r.Resources = []obj{{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}}
	case k < 75: // image pulls
		host("ecr")
		r.UserIdentity = g.nodeIdentity(cluster)
		r.SourceIPAddress = g.privateIP()
		r.EventName = pick(g.rng, []string{"GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer"})
		r.RequestParameters = obj{"registryId": account, "repositoryName": pick(g.rng, []string{"payments/api", "checkout/web", "platform/fluent-bit"}),
			"imageIds": []obj{{"imageTag": "v1." + fmt.Sprint(g.rng.IntN(90))}}, "acceptedMediaTypes": []string{"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"}}
	case k < 80:
		host("logs")
		r.UserIdentity = g.service("eks.amazonaws.com")
		r.SourceIPAddress = "eks.amazonaws.com"
		r.EventName = pick(g.rng, []string{"CreateLogStream", "DescribeLogGroups"})
		r.RequestParameters = obj{"logGroupName": "/aws/eks/" + cluster + "/cluster", "logStreamName": "kube-apiserver-audit-" + g.hex(32)}
	case k < 86: // read-only EKS calls: same source as the in-scope ones, other names
		host("eks")
		r.UserIdentity = g.person()
		r.SourceIPAddress = g.publicIP()
		r.EventName = pick(g.rng, []string{"DescribeCluster", "ListClusters", "DescribeNodegroup", "ListAccessEntries", "ListAssociatedAccessPolicies", "DescribeAddon"})
		r.RequestParameters = obj{"name": cluster}
	case k < 92: // read-only IAM calls (IAM is global: us-east-1)
		r.EventSource = "iam.amazonaws.com"
		r.AWSRegion = "us-east-1"
		r.UserIdentity = g.automation()
		r.SourceIPAddress = g.publicIP()
		r.EventName = pick(g.rng, []string{"GetRole", "ListAttachedRolePolicies", "GetPolicy", "GetPolicyVersion", "ListRolePolicies", "GetInstanceProfile"})
		r.RequestParameters = obj{"roleName": cluster + "-node-role"}
		r.TLSDetails = &tls{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "iam.amazonaws.com"}
	case k < 96:
		host("s3")
		r.UserIdentity = g.automation()
		r.SourceIPAddress = g.publicIP()
		r.EventName = pick(g.rng, []string{"GetBucketAcl", "GetBucketPolicy", "GetBucketEncryption", "ListBuckets"})
		r.RequestParameters = obj{"bucketName": cluster + "-artifacts", "Host": cluster + "-artifacts.s3." + g.region + ".amazonaws.com", "acl": ""}
		r.AdditionalEventData = obj{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
			"AuthenticationMethod": "AuthHeader", "x-amz-id-2": g.upper(60), "bytesTransferredOut": 531}
	default: // console and denied calls, with escapes in the message
		host("ssm")
		r.UserIdentity = g.person()
		r.SourceIPAddress = g.publicIP()
		r.SessionCredentialFromConsole = "true"
		r.EventName = pick(g.rng, []string{"GetParameter", "DescribeParameters", "GetParametersByPath"})
		r.RequestParameters = obj{"name": "/" + cluster + "/db/password", "withDecryption": true}
		if g.rng.IntN(3) == 0 {
			r.ErrorCode = "AccessDenied"
			r.ErrorMessage = `User: ` + r.UserIdentity.ARN + ` is not authorized to perform: ssm:GetParameter on resource: "/` + cluster + `/db/password" because no identity-based policy allows the ssm:GetParameter action`
			r.RequestParameters = nil
		}
	}
	return r
}

// relevant returns an event some eksguard rule looks at: EKS access and
// cluster changes, IAM policy changes; some harmless, some findings, some
// denied.
func (g *generator) relevant() *record {
	cluster := pick(g.rng, clusters)
	r := &record{
		EventVersion: "1.09", EventTime: g.ts(g.now), AWSRegion: g.region, SourceIPAddress: g.publicIP(),
		RequestID: g.uuid(), EventID: g.uuid(), EventType: "AwsApiCall", ManagementEvent: true,
		RecipientAccountID: account, EventCategory: "Management",
		EventSource: "eks.amazonaws.com",
	}
	if g.rng.IntN(2) == 0 {
		r.UserIdentity = g.person()
	} else {
		r.UserIdentity = g.automation()
	}
	r.UserAgent = pick(g.rng, userAgents[2:5])
	principal := "arn:aws:iam::" + account + ":role/" + pick(g.rng, []string{"dev-team", "ci-runner", "data-team", "platform-admins", "break-glass"})
	policy := "arn:aws:eks::aws:cluster-access-policy/" + pick(g.rng, []string{"AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSViewPolicy", "AmazonEKSEditPolicy"})
	encoded := func(arn string) string {
		var b bytes.Buffer
		for _, c := range []byte(arn) {
			switch c {
			case ':':
				b.WriteString("%3A")
			case '/':
				b.WriteString("%2F")
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	iam := func() {
		r.EventSource = "iam.amazonaws.com"
		r.AWSRegion = "us-east-1"
		r.ResponseElements = nil
	}
	role := cluster + pick(g.rng, []string{"-node-role", "-cluster-role", "-app"})
	switch g.rng.IntN(12) {
	case 0:
		r.EventName = "AssociateAccessPolicy"
		scope := obj{"type": "cluster"}
		if g.rng.IntN(2) == 0 {
			scope = obj{"type": "namespace", "namespaces": []string{"payments", "default"}}
		}
		r.RequestParameters = obj{"name": cluster, "principalArn": encoded(principal), "policyArn": policy, "accessScope": scope}
		r.ResponseElements = obj{"clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": obj{
			"policyArn": policy, "accessScope": scope, "associatedAt": g.now.Format(time.RFC3339Nano), "modifiedAt": g.now.Format(time.RFC3339Nano)}}
	case 1:
		r.EventName = "DisassociateAccessPolicy"
		r.RequestParameters = obj{"name": cluster, "principalArn": encoded(principal), "policyArn": encoded(policy)}
	case 2, 3:
		r.EventName = pick(g.rng, []string{"CreateAccessEntry", "UpdateAccessEntry"})
		groups := []string{pick(g.rng, []string{"developers", "viewers", "cluster-admin", "oncall"})}
		r.RequestParameters = obj{"name": cluster, "principalArn": principal, "kubernetesGroups": groups, "clientRequestToken": g.uuid()}
		r.ResponseElements = obj{"accessEntry": obj{"clusterName": cluster, "principalArn": principal, "kubernetesGroups": groups,
			"accessEntryArn": "arn:aws:eks:" + g.region + ":" + account + ":access-entry/" + cluster + "/role/" + account + "/x/" + g.hex(36),
			"createdAt":      float64(g.now.UnixMilli()) / 1000, "username": principal, "type": "STANDARD"}}
		if g.rng.IntN(8) == 0 {
			r.ErrorCode = "ResourceInUseException"
			r.ResponseElements = obj{"message": "The specified access entry resource is already in use on this cluster."}
		}
	case 4:
		r.EventName = "DeleteAccessEntry"
		r.RequestParameters = obj{"name": cluster, "principalArn": encoded(principal)}
	case 5, 6:
		r.EventName = "UpdateClusterConfig"
		switch g.rng.IntN(3) {
		case 0:
			r.RequestParameters = obj{"name": cluster, "clientRequestToken": g.uuid(), "logging": obj{"clusterLogging": []obj{
				{"types": []string{"api", "audit"}, "enabled": g.rng.IntN(2) == 0}}}}
		case 1:
			r.RequestParameters = obj{"name": cluster, "clientRequestToken": g.uuid(), "resourcesVpcConfig": obj{
				"endpointPublicAccess": true, "endpointPrivateAccess": true, "publicAccessCidrs": []string{pick(g.rng, []string{"0.0.0.0/0", "203.0.113.0/24"})}}}
		default:
			r.RequestParameters = obj{"name": cluster, "accessConfig": obj{"authenticationMode": "API_AND_CONFIG_MAP"}}
		}
		r.ResponseElements = obj{"update": obj{"id": g.uuid(), "status": "InProgress", "type": "LoggingUpdate",
			"params":    []obj{{"type": "ClusterLogging", "value": `{"clusterLogging":[{"types":["api","audit"],"enabled":false}]}`}},
			"createdAt": float64(g.now.UnixMilli()) / 1000, "errors": []any{}}}
	case 7:
		r.EventName = "CreateCluster"
		r.RequestParameters = obj{"name": cluster + "-" + g.hex(4), "version": "1.31", "roleArn": "arn:aws:iam::" + account + ":role/" + cluster + "-cluster-role",
			"resourcesVpcConfig": obj{"subnetIds": []string{"subnet-0" + g.hex(16), "subnet-0" + g.hex(16)}, "endpointPublicAccess": true},
			"logging":            obj{"clusterLogging": []obj{{"types": []string{"api", "audit", "authenticator"}, "enabled": true}}},
			"accessConfig":       obj{"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": false}}
		r.ResponseElements = obj{"cluster": obj{"name": cluster, "status": "CREATING", "version": "1.31"}}
	case 8:
		iam()
		r.EventName = pick(g.rng, []string{"DetachRolePolicy", "AttachRolePolicy"})
		r.RequestParameters = obj{"roleName": role, "policyArn": "arn:aws:iam::aws:policy/" + pick(g.rng, []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AdministratorAccess", "AmazonS3ReadOnlyAccess", "AmazonEKSClusterPolicy"})}
	case 9:
		iam()
		r.EventName = "PutRolePolicy"
		r.RequestParameters = obj{"roleName": role, "policyName": "inline-" + g.hex(6),
			"policyDocument": "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n            \"Effect\": \"Allow\",\n            \"Action\": [\"s3:GetObject\", \"s3:PutObject\"],\n            \"Resource\": \"arn:aws:s3:::" + cluster + "-artifacts/*\"\n        }\n    ]\n}"}
	case 10:
		iam()
		r.EventName = "UpdateAssumeRolePolicy"
		r.RequestParameters = obj{"roleName": role,
			"policyDocument": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}
	default: // a denied IAM call: parameters are null
		iam()
		r.EventName = pick(g.rng, []string{"DeleteRolePolicy", "DetachRolePolicy"})
		r.ErrorCode = "AccessDenied"
		r.ErrorMessage = "User: " + r.UserIdentity.ARN + " is not authorized to perform: iam:" + r.EventName + " on resource: role " + role
		r.RequestParameters = nil
	}
	if r.EventSource == "iam.amazonaws.com" {
		r.TLSDetails = &tls{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "iam.amazonaws.com"}
	} else {
		r.TLSDetails = &tls{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "eks." + g.region + ".amazonaws.com"}
	}
	return r
}
