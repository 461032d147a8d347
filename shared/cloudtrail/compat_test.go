package cloudtrail

// The decoder moved from encoding/json (behind a hand-written fast path) to
// github.com/go-json-experiment/json. These tests hold it to what
// encoding/json decoded, on the samples, on edge cases and under fuzzing,
// except where the new semantics differ on purpose: a duplicate key is an
// error (encoding/json kept the last value, where Peek reads the first),
// and keys match their field exactly (encoding/json also took "EVENTID"
// or "eventſource" for eventID and eventSource). CloudTrail writes neither.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeV1 is DecodeEvent as encoding/json decodes it: the same types and
// tolerances, the reference for the tests below.
func decodeV1(raw []byte) (*Record, error) {
	if isEnvelope(raw) {
		var env Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, err
		}
		if isNull(env.Detail) {
			return nil, fmt.Errorf("no detail")
		}
		raw = env.Detail
	}
	r := new(Record)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	if r.EventName == "" || r.EventSource == "" {
		return nil, ErrNotCloudTrail
	}
	dec, ok := paramDecoders[eventKey{r.EventSource, r.EventName}]
	if !ok || isNull(r.RequestParameters) {
		return r, nil
	}
	zero, err := dec([]byte("{}")) // a new value of the event's parameter type
	if err != nil {
		return nil, err
	}
	p := reflect.New(reflect.TypeOf(zero).Elem()).Interface()
	if err := json.Unmarshal(r.RequestParameters, p); err != nil {
		return nil, err
	}
	switch p := p.(type) {
	case *AccessEntryParams:
		if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
			return nil, err
		}
	case *AccessPolicyParams:
		if p.PrincipalARN, err = unescapeARN("principalArn", p.PrincipalARN); err != nil {
			return nil, err
		}
		if p.PolicyARN, err = unescapeARN("policyArn", p.PolicyARN); err != nil {
			return nil, err
		}
	}
	r.Params = p
	return r, nil
}

// sameAsV1 checks that DecodeEvent decodes raw as encoding/json decodes
// ref: equal Records, or both an error.
func sameAsV1(t *testing.T, raw, ref []byte) {
	t.Helper()
	got, gerr := DecodeEvent(raw)
	want, werr := decodeV1(ref)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("error %v, encoding/json says %v\ninput: %s", gerr, werr, raw)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record differs from encoding/json's\ngot  %s\nwant %s\ninput: %s", show(got), show(want), raw)
	}
}

// show prints a record with its parameters, telling nil slices from empty ones.
func show(r *Record) string {
	if r == nil {
		return "nil"
	}
	b, _ := json.Marshal(r)
	return fmt.Sprintf("%s params %#v", b, r.Params)
}

// The samples in events/ are real-shaped records: each decodes, as an
// envelope and as a bare record, as encoding/json decodes it.
func TestSamplesDecodeAsWithEncodingJSON(t *testing.T) {
	files, err := filepath.Glob("../../events/*/*.json")
	if err != nil || len(files) < 40 {
		t.Fatalf("samples: %d files, %v", len(files), err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(name), func(t *testing.T) {
			r, err := DecodeEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			if Decodable(r.EventSource, r.EventName) && !r.Failed() && r.Params == nil {
				t.Errorf("%s: no parameters decoded", r.EventName)
			}
			sameAsV1(t, raw, raw)
			var env Envelope
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatal(err)
			}
			sameAsV1(t, env.Detail, env.Detail) // the bare record too
		})
	}
}

// base is an in-scope record; edge cases replace parts of it.
const base = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:alice",
"arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333","accessKeyId":"ASIA",
"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/dev-team",
"accountId":"111122223333","userName":"dev-team"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-02T02:55:00Z","mfaAuthenticated":"false"}}},
"eventTime":"2026-11-02T03:04:05Z","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy","awsRegion":"eu-west-1",
"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"name":"payments-prod",
"principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
"accessScope":{"type":"namespace","namespaces":["a","b"]}},"responseElements":{"n":[1,-0,0.5,1e5,-2.5E-3,true,false,null,"x"]},
"eventID":"e1","readOnly":false,"recipientAccountId":"111122223333","tlsDetails":{"tlsVersion":"TLSv1.3"}}`

// edit replaces old (which must occur in base) with new.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base lacks %q", old)
	}
	return strings.Replace(base, old, new, 1)
}

func withParams(src, name, params string) string {
	return `{"eventSource":"` + src + `","eventName":"` + name + `","requestParameters":` + params + `}`
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600)
	cases := map[string]string{
		"base":                           base,
		"pretty":                         strings.ReplaceAll(strings.ReplaceAll(base, ",", " ,\n\t"), ":", " : "),
		"trailing whitespace":            base + " \n",
		"trailing garbage":               base + " x",
		"two values":                     base + base,
		"escaped key":                    edit(t, `"eventName"`, `"event\u004eame"`),
		"escapes in a value":             edit(t, `"aws-cli/2.15.0"`, `"aws \"cli\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800"`),
		"bad escape":                     edit(t, `"aws-cli/2.15.0"`, `"aws \x"`),
		"short unicode escape":           edit(t, `"aws-cli/2.15.0"`, `"aws \u12"`),
		"utf-8 value":                    edit(t, `"aws-cli/2.15.0"`, `"café ✓ 日本"`),
		"invalid utf-8 value":            edit(t, `"aws-cli/2.15.0"`, "\"a\xff\xfeb\xc3\""),
		"invalid utf-8 in skipped value": edit(t, `"TLSv1.3"`, "\"a\xff\""),
		"control character":              edit(t, `"aws-cli/2.15.0"`, "\"a\tb\""),
		"null string":                    edit(t, `"eventID":"e1"`, `"eventID":null`),
		"number for string":              edit(t, `"eventID":"e1"`, `"eventID":1`),
		"object for string":              edit(t, `"eventID":"e1"`, `"eventID":{}`),
		"readOnly string":                edit(t, `"readOnly":false`, `"readOnly":"True"`),
		"readOnly null":                  edit(t, `"readOnly":false`, `"readOnly":null`),
		"readOnly number":                edit(t, `"readOnly":false`, `"readOnly":1`),
		"readOnly object":                edit(t, `"readOnly":false`, `"readOnly":{"a":1}`),
		"console string":                 edit(t, `"readOnly":false`, `"readOnly":false,"sessionCredentialFromConsole":"true"`),
		"epoch time":                     edit(t, `"2026-11-02T03:04:05Z"`, `1700000000.5`),
		"epoch millis string":            edit(t, `"2026-11-02T03:04:05Z"`, `"1700000000123"`),
		"fractional time":                edit(t, `"2026-11-02T03:04:05Z"`, `"2026-11-02T03:04:05.123456789Z"`),
		"offset time":                    edit(t, `"2026-11-02T03:04:05Z"`, `"2026-11-02T03:04:05+02:00"`),
		"space time":                     edit(t, `"2026-11-02T03:04:05Z"`, `"2026-11-02 03:04:05"`),
		"empty time":                     edit(t, `"2026-11-02T03:04:05Z"`, `""`),
		"null time":                      edit(t, `"2026-11-02T03:04:05Z"`, `null`),
		"bad time":                       edit(t, `"2026-11-02T03:04:05Z"`, `"yesterday"`),
		"day out of range":               edit(t, `"2026-11-02T03:04:05Z"`, `"2026-02-30T03:04:05Z"`),
		"hour out of range":              edit(t, `"2026-11-02T03:04:05Z"`, `"2026-11-02T24:04:05Z"`),
		"leap day":                       edit(t, `"2026-11-02T03:04:05Z"`, `"2028-02-29T23:59:59Z"`),
		"not a leap day":                 edit(t, `"2026-11-02T03:04:05Z"`, `"2100-02-29T23:59:59Z"`),
		"year zero":                      edit(t, `"2026-11-02T03:04:05Z"`, `"0000-01-01T00:00:00Z"`),
		"lower-case t":                   edit(t, `"2026-11-02T03:04:05Z"`, `"2026-11-02t03:04:05z"`),
		"time as object":                 edit(t, `"2026-11-02T03:04:05Z"`, `{"a":1}`),
		"identity null":                  edit(t, `"userIdentity":{`, `"userIdentity":null,"x":{`),
		"identity string":                edit(t, `"userIdentity":{`, `"userIdentity":"root","x":{`),
		"session null":                   edit(t, `"sessionContext":{`, `"sessionContext":null,"x":{`),
		"issuer null":                    edit(t, `"sessionIssuer":{`, `"sessionIssuer":null,"x":{`),
		"attributes null":                edit(t, `"attributes":{`, `"attributes":null,"x":{`),
		"mfa bool":                       edit(t, `"mfaAuthenticated":"false"`, `"mfaAuthenticated":true`),
		"mfa junk":                       edit(t, `"mfaAuthenticated":"false"`, `"mfaAuthenticated":"sometimes"`),
		"params null":                    edit(t, `"requestParameters":{`, `"requestParameters":null,"x":{`),
		"params array":                   edit(t, `"requestParameters":{`, `"requestParameters":[],"x":{`),
		"params string":                  edit(t, `"requestParameters":{`, `"requestParameters":"p","x":{`),
		"params with spaces":             edit(t, `"requestParameters":{"name"`, `"requestParameters":  { "name" `),
		"response null":                  edit(t, `"responseElements":{`, `"responseElements":null,"x":{`),
		"bad number leading zero":        edit(t, `0.5`, `01`),
		"bad number no fraction":         edit(t, `0.5`, `1.`),
		"bad number no exponent":         edit(t, `0.5`, `1e`),
		"bad number minus":               edit(t, `0.5`, `-`),
		"bad literal":                    edit(t, `true,false`, `tru,false`),
		"bad literal null":               edit(t, `null,"x"`, `nul,"x"`),
		"deep response":                  edit(t, `"responseElements":{`, `"responseElements":`+deep+`,"x":{`),
		"unclosed":                       base[:len(base)-1],
		"missing colon":                  edit(t, `"eventID":"e1"`, `"eventID" "e1"`),
		"missing comma":                  edit(t, `"eventID":"e1",`, `"eventID":"e1" `),
		"trailing comma":                 edit(t, `"TLSv1.3"}}`, `"TLSv1.3",}}`),
		"url encoding error":             edit(t, `arn%3Aaws%3Aiam`, `arn%ZZaws`),
		"principal not encoded":          edit(t, `arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team`, `arn:aws:iam::111122223333:role/x`),
		"params cluster name":            edit(t, `"name":"payments-prod"`, `"clusterName":"old"`),
		"scope null":                     edit(t, `"accessScope":{"type":"namespace","namespaces":["a","b"]}`, `"accessScope":null`),
		"namespaces empty":               edit(t, `"namespaces":["a","b"]`, `"namespaces":[]`),
		"namespaces null":                edit(t, `"namespaces":["a","b"]`, `"namespaces":null`),
		"namespaces null element":        edit(t, `"namespaces":["a","b"]`, `"namespaces":["a",null]`),
		"namespaces number":              edit(t, `"namespaces":["a","b"]`, `"namespaces":[1]`),
		"namespaces string":              edit(t, `"namespaces":["a","b"]`, `"namespaces":"a"`),
		"no event name":                  edit(t, `"eventName":"AssociateAccessPolicy",`, ``),
		"empty object":                   `{}`,
		"array":                          `[` + base + `]`,
		"string":                         `"x"`,
		"empty":                          ``,
		"envelope":                       `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":` + base + `}`,
		"envelope resources null":        `{"id":"x","detail-type":"d","resources":null,"detail":` + base + `}`,
		"envelope resources":             `{"id":"x","detail-type":"d","resources":["arn:1","arn:2"],"detail":` + base + `}`,
		"envelope bad time":              `{"id":"x","detail-type":"d","time":"soon","detail":` + base + `}`,
		"envelope no detail":             `{"id":"x","detail-type":"d","details":1}`,
		"envelope null detail":           `{"id":"x","detail-type":"d","detail":null}`,
		"envelope detail string":         `{"id":"x","detail-type":"d","detail":"s"}`,
		"envelope broken detail":         `{"id":"x","detail-type":"d","detail":` + edit(t, `"eventID":"e1"`, `"eventID":2`) + `}`,
		"envelope trailing garbage":      `{"id":"x","detail-type":"d","detail":` + base + `}]`,
		"update cluster config": withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"name":"c","clientRequestToken":"t",
			"resourcesVpcConfig":{"endpointPublicAccess":"true","endpointPrivateAccess":false,"publicAccessCidrs":["0.0.0.0/0"],"subnetIds":[],"securityGroupIds":null},
			"logging":{"clusterLogging":[{"types":["api"],"enabled":true},{"types":["audit"],"enabled":"false"},{"types":[]}]},
			"accessConfig":{"authenticationMode":"API","bootstrapClusterCreatorAdminPermissions":null}}`),
		"update cluster config nulls": withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"name":"c","resourcesVpcConfig":null,"logging":null,"accessConfig":null}`),
		"logging null list":           withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"logging":{"clusterLogging":null}}`),
		"logging empty list":          withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"logging":{"clusterLogging":[]}}`),
		"logging null element":        withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"logging":{"clusterLogging":[null]}}`),
		"logging bad enabled":         withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"logging":{"clusterLogging":[{"enabled":"maybe"}]}}`),
		"logging enabled null":        withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"logging":{"clusterLogging":[{"enabled":null,"types":["api"]}]}}`),
		"create cluster": withParams("eks.amazonaws.com", "CreateCluster", `{"clusterName":"old","roleArn":"arn:r","version":"1.31",
			"encryptionConfig":[{"resources":["secrets"],"provider":{"keyArn":"arn:k","x":1}},{"provider":null},{"resources":null}],
			"accessConfig":{"authenticationMode":"API","bootstrapClusterCreatorAdminPermissions":"False"},"tags":{"a":"b"}}`),
		"create cluster no encryption":    withParams("eks.amazonaws.com", "CreateCluster", `{"name":"n","encryptionConfig":[]}`),
		"create cluster encryption null":  withParams("eks.amazonaws.com", "CreateCluster", `{"name":"n","encryptionConfig":null}`),
		"create cluster encryption items": withParams("eks.amazonaws.com", "CreateCluster", `{"name":"n","encryptionConfig":[1]}`),
		"delete cluster":                  withParams("eks.amazonaws.com", "DeleteCluster", `{"name":"n","x":[{}]}`),
		"encryption config":               withParams("eks.amazonaws.com", "AssociateEncryptionConfig", `{"name":"n","encryptionConfig":[{"resources":["secrets"],"provider":{"keyArn":"k"}}]}`),
		"pod identity":                    withParams("eks.amazonaws.com", "CreatePodIdentityAssociation", `{"name":"n","namespace":"ns","serviceAccount":"sa","roleArn":"r"}`),
		"access entry": withParams("eks.amazonaws.com", "CreateAccessEntry", `{"name":"c","principalArn":"arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr",
			"kubernetesGroups":["g"],"username":"u","type":"STANDARD","tags":{}}`),
		"access entry groups empty":  withParams("eks.amazonaws.com", "UpdateAccessEntry", `{"name":"c","kubernetesGroups":[]}`),
		"access entry bad principal": withParams("eks.amazonaws.com", "DeleteAccessEntry", `{"name":"c","principalArn":"arn%Z"}`),
		"access entry number":        withParams("eks.amazonaws.com", "CreateAccessEntry", `{"name":"c","principalArn":42}`),
		"disassociate":               withParams("eks.amazonaws.com", "DisassociateAccessPolicy", `{"name":"c","principalArn":"a%3Ab","policyArn":"p%2Fq"}`),
		"role policy":                withParams("iam.amazonaws.com", "AttachRolePolicy", `{"roleName":"r","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`),
		"role policy array":          withParams("iam.amazonaws.com", "DetachRolePolicy", `{"roleName":["r"]}`),
		"role policy null":           withParams("iam.amazonaws.com", "DetachRolePolicy", `null`),
		"inline policy":              withParams("iam.amazonaws.com", "PutRolePolicy", `{"roleName":"r","policyName":"p","policyDocument":"{\n  \"Version\": \"2012-10-17\"\n}"}`),
		"delete inline policy":       withParams("iam.amazonaws.com", "DeleteRolePolicy", `{"roleName":"r","policyName":"p"}`),
		"trust policy":               withParams("iam.amazonaws.com", "UpdateAssumeRolePolicy", `{"roleName":"r","policyDocument":"{}"}`),
		"user policy":                withParams("iam.amazonaws.com", "DetachUserPolicy", `{"userName":"u","policyArn":"p"}`),
		"group policy":               withParams("iam.amazonaws.com", "DetachGroupPolicy", `{"groupName":"g","policyArn":"p"}`),
		"out of scope":               withParams("ecs.amazonaws.com", "CreateCluster", `{"clusterName":5}`),
		"params trailing garbage":    `{"eventSource":"iam.amazonaws.com","eventName":"DetachRolePolicy","requestParameters":{"roleName":"r"}x}`,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) { sameAsV1(t, []byte(raw), []byte(raw)) })
	}
}

// A duplicate key is an error that names it, wherever it is.
func TestDuplicateKeysAreErrors(t *testing.T) {
	cases := map[string]string{
		"string key":  edit(t, `"eventID":"e1"`, `"eventID":"e1","eventID":"e2"`),
		"unknown key": edit(t, `"eventID":"e1"`, `"eventID":"e1","x":1,"x":2`),
		"session":     edit(t, `"accessKeyId":"ASIA",`, `"accessKeyId":"ASIA","sessionContext":{"attributes":{"mfaAuthenticated":"true"}},`),
		"params key":  edit(t, `"name":"payments-prod"`, `"name":"a","name":"b"`),
		"vpc flag":    withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"resourcesVpcConfig":{"endpointPublicAccess":true,"endpointPublicAccess":null}}`),
		"role name":   withParams("iam.amazonaws.com", "DetachRolePolicy", `{"roleName":"a","roleName":"b"}`),
		"envelope":    `{"id":"x","detail-type":"d","detail":{},"detail":` + base + `}`,
		"event name":  edit(t, `"eventName":"AssociateAccessPolicy",`, `"eventName":"AssociateAccessPolicy","eventName":"DescribeCluster",`),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("got error %v, want one about a duplicate key", err)
			}
			if _, err := decodeV1([]byte(raw)); err != nil {
				t.Fatalf("encoding/json refuses it too (%v): the case tests nothing", err)
			}
		})
	}
}

// A key that matches a field only case-insensitively is an unknown key: the
// record decodes as if it had another name.
func TestKeysMatchExactly(t *testing.T) {
	cases := []struct{ name, raw, ref string }{
		{"case-folded key", edit(t, `"eventID":"e1"`, `"EVENTID":"e1"`), edit(t, `"eventID":"e1"`, `"unknown":"e1"`)},
		{"case-folded event name", edit(t, `"eventName"`, `"EventName"`), edit(t, `"eventName"`, `"unknown"`)},
		{"unicode-folded key", edit(t, `"eventSource"`, `"event`+"\u017f"+`ource"`), edit(t, `"eventSource"`, `"unknown"`)},
		{"kelvin key", edit(t, `"accessKeyId"`, `"access`+"\u212a"+`eyId"`), edit(t, `"accessKeyId"`, `"unknown"`)},
		{"params key", edit(t, `"name":"payments-prod"`, `"NAME":"x"`), edit(t, `"name":"payments-prod"`, `"unknown":"x"`)},
		{"role name", withParams("iam.amazonaws.com", "DetachRolePolicy", `{"RoleName":"a"}`),
			withParams("iam.amazonaws.com", "DetachRolePolicy", `{"unknown":"a"}`)},
		{"envelope id", `{"ID":"x","detail-type":"d","detail":` + base + `}`, `{"unknown":"x","detail-type":"d","detail":` + base + `}`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if reflect.DeepEqual(decodeV1Result(tt.raw), decodeV1Result(tt.ref)) {
				t.Fatal("encoding/json decodes both the same: the case tests nothing")
			}
			got, gerr := DecodeEvent([]byte(tt.raw))
			want, werr := decodeV1([]byte(tt.ref))
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("error %v, encoding/json says %v on the key renamed", gerr, werr)
			}
			if got != nil && want != nil { // the raw parameters differ by the key's name
				want.RequestParameters = got.RequestParameters
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("record differs from encoding/json's with the key renamed\ngot  %s\nwant %s", show(got), show(want))
			}
		})
	}
}

func decodeV1Result(raw string) string {
	r, err := decodeV1([]byte(raw))
	return fmt.Sprint(show(r), err)
}

// FuzzDecode checks DecodeEvent against encoding/json on any input: the
// same Record, or both an error, except for the differences on purpose
// (duplicate keys, keys that match a field only case-insensitively).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(envelopeAssociate))
	f.Add([]byte(withParams("eks.amazonaws.com", "UpdateClusterConfig", `{"resourcesVpcConfig":{"endpointPublicAccess":"true"},"logging":{"clusterLogging":[{"types":["api"],"enabled":true}]}}`)))
	f.Add([]byte(withParams("eks.amazonaws.com", "CreateCluster", `{"encryptionConfig":[{"resources":["secrets"],"provider":{"keyArn":"k"}}],"accessConfig":{"authenticationMode":"API"}}`)))
	f.Add([]byte(withParams("iam.amazonaws.com", "PutRolePolicy", `{"roleName":"r","policyName":"p","policyDocument":"{\"a\":\"\u00e9\"}"}`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gerr := DecodeEvent(raw)
		want, werr := decodeV1(raw)
		if foldedKey(raw) {
			return
		}
		if gerr != nil && werr == nil && strings.Contains(gerr.Error(), "duplicate") {
			return
		}
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("error %v, encoding/json says %v\ninput: %q", gerr, werr, raw)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record differs from encoding/json's\ngot  %s\nwant %s\ninput: %q", show(got), show(want), raw)
		}
	})
}

// foldedKey reports whether raw has an object key that is not a field name
// of the decoded types but matches one case-insensitively (which
// encoding/json takes for that field).
func foldedKey(raw []byte) bool {
	dec := jsontext.NewDecoder(strings.NewReader(string(raw)), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if tok.Kind() != '"' {
			continue
		}
		if kind, n := dec.StackIndex(dec.StackDepth()); kind != '{' || n%2 == 0 { // a value, not a key
			continue
		}
		name := tok.String()
		if fieldNames[name] {
			continue
		}
		for known := range fieldNames {
			if strings.EqualFold(name, known) {
				return true
			}
		}
	}
}

// fieldNames are the JSON names of every field the decoder fills.
var fieldNames = func() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				names[name] = true
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Envelope]())
	walk(reflect.TypeFor[Record]())
	for _, dec := range paramDecoders {
		p, _ := dec([]byte("{}"))
		walk(reflect.TypeOf(p))
	}
	return names
}()
