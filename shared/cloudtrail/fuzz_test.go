package cloudtrail

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// base is an in-scope record with every quirk the decoder absorbs: a
// URL-encoded path ARN, string booleans, nested parameters.
const base = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:alice",
"arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333","accessKeyId":"ASIA",
"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/dev-team",
"accountId":"111122223333","userName":"dev-team"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-02T02:55:00Z","mfaAuthenticated":"false"}}},
"eventTime":"2026-11-02T03:04:05Z","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy","awsRegion":"eu-west-1",
"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"name":"payments-prod",
"principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
"accessScope":{"type":"namespace","namespaces":["a","b"]}},"responseElements":{"n":[1,-0,0.5,1e5,-2.5E-3,true,false,null,"x"]},
"eventID":"e1","readOnly":false,"recipientAccountId":"111122223333","tlsDetails":{"tlsVersion":"TLSv1.3"}}`

func withParams(src, name, params string) string {
	return `{"eventSource":"` + src + `","eventName":"` + name + `","requestParameters":` + params + `}`
}

// FuzzDecode: on any input, DecodeEvent returns a record or an error, never
// panics; a record it returns names its event, carries the parameter type
// of its event when it has parameters, and decodes to the same record again
// from its own JSON (nothing is read differently the second time).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(envelopeAssociate))
	f.Add([]byte(withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"resourcesVpcConfig":{"endpointPublicAccess":"true"},"logging":{"clusterLogging":[{"types":["api"],"enabled":true}]}}`)))
	f.Add([]byte(withParams("eks.amazonaws.com", "CreateCluster", `{"encryptionConfig":[{"resources":["secrets"],"provider":{"keyArn":"k"}}],"accessConfig":{"authenticationMode":"API"}}`)))
	f.Add([]byte(withParams("iam.amazonaws.com", "PutRolePolicy", `{"roleName":"r","policyName":"p","policyDocument":"{\"a\":\"\u00e9\"}"}`)))
	f.Add([]byte(withParams("iam.amazonaws.com", "DetachRolePolicy", `null`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := DecodeEvent(raw)
		if err != nil {
			if r != nil {
				t.Fatalf("a record and an error: %v", err)
			}
			return
		}
		if r.EventSource == "" || r.EventName == "" {
			t.Fatalf("record without eventSource/eventName accepted: %q", raw)
		}
		if dec, ok := decoderFor(r.EventSource, r.EventName); ok && r.Params != nil {
			want, _ := dec([]byte("{}"))
			if reflect.TypeOf(r.Params) != reflect.TypeOf(want) {
				t.Fatalf("%s decoded to %T, want %T", r.EventName, r.Params, want)
			}
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		r2, err := DecodeRecord(again)
		if err != nil {
			if strings.Contains(err.Error(), "requestParameters") || strings.Contains(err.Error(), "want ") {
				// A value the first decode tolerated (a URL-decoded ARN, a
				// string boolean) is written back in its clean form; it must
				// read again.
				t.Fatalf("its own JSON does not decode: %v\n%s", err, again)
			}
			return
		}
		for _, pair := range [][2]*json.RawMessage{{&r.RequestParameters, &r2.RequestParameters}, {&r.ResponseElements, &r2.ResponseElements}} {
			if !sameJSON(*pair[0], *pair[1]) {
				t.Fatalf("raw field %s became %s", *pair[0], *pair[1])
			}
			*pair[0], *pair[1] = nil, nil
		}
		r.Params, r2.Params = nil, nil
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("decodes differently from its own JSON:\n got  %+v\n want %+v", r2, r)
		}
	})
}

// sameJSON compares two raw values as JSON, an absent value as null.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if isNull(a) && isNull(b) {
		return true
	}
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(va, vb)
}
