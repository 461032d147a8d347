package replay

import (
	"encoding/json"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/fastjson"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// A realistic in-scope CloudTrail record (AssociateAccessPolicy granting
// cluster admin, as CloudTrail writes it, URL-encoded principal included).
var inScopeRecord = []byte(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:alice",
"arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE",
"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/dev-team",
"accountId":"111122223333","userName":"dev-team"},"attributes":{"creationDate":"2026-11-02T02:55:00Z","mfaAuthenticated":"false"}}},
"eventTime":"2026-11-02T03:04:05Z","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy","awsRegion":"eu-west-1",
"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.6",
"requestParameters":{"name":"payments-prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team",
"policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}},
"responseElements":{"clusterName":"payments-prod","principalArn":"arn:aws:iam::111122223333:role/dev-team",
"associatedAccessPolicy":{"policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
"accessScope":{"type":"cluster","namespaces":[]},"associatedAt":"2026-11-02T03:04:05Z","modifiedAt":"2026-11-02T03:04:05Z"}},
"requestID":"0d4b1c2e-8f7a-4b6e-9c1d-2e3f4a5b6c7d","eventID":"a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6","readOnly":false,
"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",
"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"eks.eu-west-1.amazonaws.com"}}`)

// A typical irrelevant record: an S3 data-plane-ish management call.
var irrelevantRecord = []byte(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:i-0abc",
"arn":"arn:aws:sts::111122223333:assumed-role/app-node/i-0abc","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE",
"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/app-node",
"accountId":"111122223333","userName":"app-node"},"attributes":{"creationDate":"2026-11-02T02:55:00Z","mfaAuthenticated":"false"},
"ec2RoleDelivery":"2.0"}},"eventTime":"2026-11-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances",
"awsRegion":"eu-west-1","sourceIPAddress":"10.0.1.23","userAgent":"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22",
"requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"tag:eks:cluster-name","valueSet":{"items":[{"value":"payments-prod"}]}}]}},
"responseElements":null,"requestID":"0d4b1c2e-8f7a-4b6e-9c1d-2e3f4a5b6c7d","eventID":"b1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6",
"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`)

// BenchmarkAssessInScope decodes and judges one in-scope record, with the
// functions' decoder (encoding/json) and the CLI's (fastjson) side by side.
func BenchmarkAssessInScope(b *testing.B) {
	eng := rules.NewEngine(policy.Default(), rules.All())
	for _, dec := range []struct {
		name string
		f    func([]byte, any) error
	}{{"encoding-json", json.Unmarshal}, {"fastjson", fastjson.Unmarshal}} {
		b.Run(dec.name, func(b *testing.B) {
			cloudtrail.UseUnmarshal(dec.f)
			defer cloudtrail.UseUnmarshal(json.Unmarshal)
			b.SetBytes(int64(len(inScopeRecord)))
			b.ReportAllocs()
			for b.Loop() {
				fs, in, err := Assess(eng, inScopeRecord)
				if err != nil || !in || len(fs) != 1 {
					b.Fatalf("findings %d in %v err %v", len(fs), in, err)
				}
			}
		})
	}
}

func BenchmarkSkipIrrelevant(b *testing.B) {
	eng := rules.NewEngine(policy.Default(), rules.All())
	b.SetBytes(int64(len(irrelevantRecord)))
	b.ReportAllocs()
	for b.Loop() {
		if _, in, _ := Assess(eng, irrelevantRecord); in {
			b.Fatal("irrelevant record taken for in scope")
		}
	}
}
