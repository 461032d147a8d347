package cloudtrail

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/eksguard/eksguard/shared/fastjson"
)

// decodeWith decodes raw as DecodeEvent does, with f as the JSON library.
func decodeWith(f func([]byte, any) error, raw []byte) (*Record, error) {
	defer UseUnmarshal(jsonUnmarshal)
	UseUnmarshal(f)
	return DecodeEvent(raw)
}

// sameDecoding fails unless encoding/json and fastjson read raw alike: the
// same record, or the same error, word for word.
func sameDecoding(t *testing.T, name string, raw []byte) {
	t.Helper()
	want, wantErr := decodeWith(json.Unmarshal, raw)
	got, gotErr := decodeWith(fastjson.Unmarshal, raw)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s: fastjson error %v, encoding/json error %v", name, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("%s: fastjson error\n  %v\nencoding/json error\n  %v", name, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s: fastjson decoded\n  %s\nencoding/json decoded\n  %s", name, g, w)
	}
}

// TestFastJSONDecodesEverySampleAlike holds the replay's decoder to the
// Lambdas': every sample event in events/ and every shape and error case of
// this package's tests decode to the same record, or the same error.
func TestFastJSONDecodesEverySampleAlike(t *testing.T) {
	var n int
	err := filepath.WalkDir("../../events", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sameDecoding(t, path, raw)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("compared %d sample events, want the whole corpus (at least 50)", n)
	}
	for i, raw := range decoderCases {
		sameDecoding(t, "case "+string(rune('a'+i)), []byte(raw))
	}
}

// decoderCases are inputs where the two libraries could part: case of keys,
// duplicate keys, invalid UTF-8, string booleans and epoch times, wrong
// types at each depth, null parameters, truncation.
var decoderCases = []string{
	base,
	envelopeAssociate,
	`{"EventSource":"eks.amazonaws.com","EVENTNAME":"CreateAccessEntry","requestParameters":{"Name":"c","PRINCIPALARN":"arn:aws:iam::1:role/x"}}`,
	`{"eventSource":"eks.amazonaws.com","eventName":"CreateAccessEntry","eventName":"DeleteAccessEntry","requestParameters":{"name":"a","name":"b"}}`,
	"{\"eventSource\":\"eks.amazonaws.com\",\"eventName\":\"CreateAccessEntry\",\"userAgent\":\"a\xff\xfeb\",\"requestParameters\":{\"name\":\"c\xc3\"}}",
	withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"name":"c","resourcesVpcConfig":{"endpointPublicAccess":"True","endpointPrivateAccess":"false","publicAccessCidrs":["0.0.0.0/0"]}}`),
	withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"name":"c","resourcesVpcConfig":{"endpointPublicAccess":"maybe"}}`),
	withParams("eks.amazonaws.com", "CreateAccessEntry", `{"name":"c","principalArn":42}`),
	withParams("eks.amazonaws.com", "CreateAccessEntry", `{"name":"c","kubernetesGroups":"system:masters"}`),
	withParams("eks.amazonaws.com", "DeleteAccessEntry", `{"name":"c","principalArn":"arn%ZZ"}`),
	withParams("iam.amazonaws.com", "AttachRolePolicy", `{"roleName":["a"]}`),
	withParams("iam.amazonaws.com", "DetachRolePolicy", `null`),
	withParams("iam.amazonaws.com", "PutRolePolicy", `{"roleName":"r","policyName":"p","policyDocument":"{\"a\":\"\u00e9\"}"}`),
	`{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","eventTime":1730516645.5}`,
	`{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","eventTime":"yesterday"}`,
	`{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","readOnly":"false","managementEvent":1}`,
	`{"detail-type":"AWS API Call via CloudTrail","id":"x","detail":null}`,
	`{"detail-type":"AWS API Call via CloudTrail","id":"x","detail":{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{"roleName":["a"]}}}`,
	`{"detail-type":"AWS API Call via CloudTrail","id":"x","detail":{"eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","userIdentity":"x","readOnly":{}}}`,
	`{"eventSource":"eks.amazonaws.com"`,
	`{"hello":"world"}`,
	`[1,2]`,
	``,
}

// FuzzDecodersAgree: on any input, fastjson and encoding/json decode to the
// same record or to the same error.
func FuzzDecodersAgree(f *testing.F) {
	for _, c := range decoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameDecoding(t, "input", raw)
	})
}
