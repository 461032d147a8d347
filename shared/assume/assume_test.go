package assume_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/assume"
)

func newRoles(t *testing.T) (*assume.Roles, *stsfake.STS) {
	t.Helper()
	fake := stsfake.New(t)
	client := sts.New(sts.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(fake.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCENTRAL", "secret", ""),
	})
	return &assume.Roles{STS: client, RoleName: "eksguard-remediation"}, fake
}

func TestCredentialsAreAssumedOncePerAccount(t *testing.T) {
	roles, fake := newRoles(t)
	ctx := assume.WithEventID(context.Background(), "772c21ea-8dfe-42c4-b957-c43c127ba456")
	for range 3 {
		c, err := roles.Credentials("444455556666").Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != stsfake.AccessKeyFor("444455556666") || c.SessionToken != "fake-token-444455556666" || !c.CanExpire {
			t.Fatalf("credentials %+v, want the 444455556666 role's", c)
		}
	}
	if _, err := roles.Credentials("777788889999").Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	want := []stsfake.Call{
		{Caller: "AKIDCENTRAL", RoleARN: "arn:aws:iam::444455556666:role/eksguard-remediation",
			RoleSessionName: "eksguard-772c21ea-8dfe-42c4-b957-c43c127ba456", DurationSeconds: 900},
		{Caller: "AKIDCENTRAL", RoleARN: "arn:aws:iam::777788889999:role/eksguard-remediation",
			RoleSessionName: "eksguard-772c21ea-8dfe-42c4-b957-c43c127ba456", DurationSeconds: 900},
	}
	if got := fake.Calls(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("AssumeRole calls\n got  %+v\n want %+v", got, want)
	}
}

// Credentials that expire within RefreshBefore are assumed again.
func TestCredentialsAreRenewedBeforeExpiry(t *testing.T) {
	roles, fake := newRoles(t)
	// Each session the fake issues has only a minute left.
	fake.Now = func() time.Time { return time.Now().Add(-14 * time.Minute) }
	for range 2 {
		if _, err := roles.Credentials("444455556666").Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Calls()); n != 2 {
		t.Fatalf("%d AssumeRole calls, want 2 (the first credentials were within the refresh window)", n)
	}
	fake.Now = nil
	roles2, fake2 := newRoles(t)
	for range 2 {
		if _, err := roles2.Credentials("444455556666").Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake2.Calls()); n != 1 {
		t.Fatalf("%d AssumeRole calls with 15 minutes left, want 1", n)
	}
}

func TestDeniedIsAnAPIErrorAndNotCached(t *testing.T) {
	roles, fake := newRoles(t)
	fake.Deny("arn:aws:iam::444455556666:role/eksguard-remediation")
	for range 2 {
		_, err := roles.Credentials("444455556666").Retrieve(context.Background())
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Fatalf("error %v, want the AccessDenied API error", err)
		}
		if !strings.Contains(err.Error(), "assume role arn:aws:iam::444455556666:role/eksguard-remediation") {
			t.Errorf("error %q does not name the role", err)
		}
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2: a refusal is not cached", n)
	}
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"772c21ea-8dfe-42c4-b957-c43c127ba456", "eksguard-772c21ea-8dfe-42c4-b957-c43c127ba456"},
		{"", "eksguard-no-event"},
		{"a b/c:d#e", "eksguard-a-b-c-d-e"},
		{"é", "eksguard--"},
		{strings.Repeat("x", 100), "eksguard-" + strings.Repeat("x", 55)},
	} {
		if got := assume.SessionName(tc.id); got != tc.want || len(got) > 64 {
			t.Errorf("SessionName(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestRoleARN(t *testing.T) {
	r := &assume.Roles{Partition: "aws-cn"}
	if got, want := r.RoleARN("444455556666"), "arn:aws-cn:iam::444455556666:role/"+assume.DefaultRoleName; got != want {
		t.Errorf("RoleARN = %s, want %s", got, want)
	}
}

// Concurrent invocations share one session per account.
func TestConcurrentRetrievesAssumeOnce(t *testing.T) {
	roles, fake := newRoles(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := roles.Credentials("444455556666").Retrieve(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d AssumeRole calls from 8 concurrent retrieves, want 1", n)
	}
}
