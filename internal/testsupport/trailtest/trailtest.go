// Package trailtest builds CloudTrail log files as CloudTrail delivers them,
// for the tests of the code that lists and reads them (replay, S3 archives).
package trailtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"
)

// GrantRecord is a CloudTrail record of an AssociateAccessPolicy that grants
// cluster admin to a non-admin role at t: one finding under any policy
// that lists no admins.
func GrantRecord(id string, at time.Time) string {
	return `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:alice",` +
		`"arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333"},` +
		`"eventTime":"` + at.UTC().Format(time.RFC3339) + `","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy",` +
		`"awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",` +
		`"requestParameters":{"clusterName":"payments-prod","principalArn":"arn:aws:iam::111122223333:role/dev-team",` +
		`"policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}},` +
		`"responseElements":null,"requestID":"r-1","eventID":"` + id + `","readOnly":false,"eventType":"AwsApiCall",` +
		`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
}

// LogFile is a gzip'd CloudTrail log file holding the records.
func LogFile(records ...string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	fmt.Fprintf(w, `{"Records":[%s]}`, strings.Join(records, ","))
	w.Close()
	return b.Bytes()
}

// Key is where CloudTrail delivers the n-th log file of an account and
// region for time t.
func Key(account, region string, t time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%04d.json.gz", account, region,
		t.Format("2006/01/02"), account, region, t.Format("20060102T1504Z"), n)
}
