package trailfile

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
)

// noiseRecord is a typical out-of-scope management event.
const noiseRecord = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA4247GXG55KR6G74RF:i-06e31327a1ed8678c",` +
	`"arn":"arn:aws:sts::111122223333:assumed-role/payments-prod-node-role/i-06e31327a1ed8678c","accountId":"111122223333",` +
	`"accessKeyId":"ASIAHYRTVGBRINIXBKZR","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA4247GXG55KR6G74RF",` +
	`"arn":"arn:aws:iam::111122223333:role/payments-prod-node-role","accountId":"111122223333","userName":"payments-prod-node-role"},` +
	`"webIdFederationData":{},"attributes":{"creationDate":"2026-08-10T09:36:12Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},` +
	`"eventTime":"2026-08-10T10:18:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeNetworkInterfaces","awsRegion":"eu-west-1",` +
	`"sourceIPAddress":"10.3.86.81","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0",` +
	`"requestParameters":{"filterSet":{"items":[{"name":"tag:kubernetes.io/cluster/payments-prod","valueSet":{"items":[{"value":"owned"}]}}]},"maxResults":1000},` +
	`"responseElements":null,"requestID":"c6e5b6ce-900a-48c7-6641-80779af2fff3","eventID":"%08d-9fb3-4c58-c22a-dfd742fc234d",` +
	`"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",` +
	`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.eu-west-1.amazonaws.com"}}`

// logFile is an uncompressed CloudTrail log file of n noise records.
func logFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, noiseRecord, i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// BenchmarkSplitAndPeek is the per-record work of a replay on out-of-scope
// records, decompression aside: split the log file, peek at each record.
func BenchmarkSplitAndPeek(b *testing.B) {
	data := logFile(2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			raw, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if src, _ := cloudtrail.Peek(raw); len(src) == 0 {
				b.Fatal("no eventSource")
			}
			n++
		}
		if n != 2000 {
			b.Fatalf("%d records", n)
		}
	}
}

func BenchmarkPeek(b *testing.B) {
	raw := []byte(fmt.Sprintf(noiseRecord, 1))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if src, name := cloudtrail.Peek(raw); len(src) == 0 || len(name) == 0 {
			b.Fatal("not found")
		}
	}
}
