package remediate_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/remediate"
)

func roles(w *awsfake.World, now *time.Time) *remediate.Roles {
	cfg := awsfake.Config("eu-west-1")
	return &remediate.Roles{
		EKS: func(region string) remediate.ClusterDirectory {
			return eks.NewFromConfig(cfg, func(o *eks.Options) { o.Region = region; o.BaseEndpoint = aws.String(w.EKS.URL) })
		},
		Regions: []string{"eu-west-1"},
		Now:     func() time.Time { return *now },
	}
}

func TestRoleLookupThroughEKSIsCached(t *testing.T) {
	w := awsfake.New(t)
	w.EKS.Put(awsfake.Cluster{Name: "prod", RoleARN: "arn:aws:iam::111122223333:role/svc/platform-control", Nodegroups: map[string]string{
		"general": "arn:aws:iam::111122223333:role/workers", "gpu": "arn:aws:iam::111122223333:role/gpu-workers",
	}})
	w.EKS.Put(awsfake.Cluster{Name: "stage", RoleARN: "arn:aws:iam::111122223333:role/platform-control", Nodegroups: map[string]string{
		"general": "arn:aws:iam::111122223333:role/workers",
	}})
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	r := roles(w, &now)
	ctx := context.Background()

	use, err := r.Lookup(ctx, "platform-control")
	if err != nil {
		t.Fatal(err)
	}
	if !use.Cluster() || use.Node() || !reflect.DeepEqual(use.ClusterRoleOf, []string{"eu-west-1/prod", "eu-west-1/stage"}) {
		t.Fatalf("platform-control = %+v", use)
	}
	wantOps := []string{
		"eks:ListClusters",
		"eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup", "eks:DescribeNodegroup",
		"eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup",
	}
	if got := w.Log.Ops(); !reflect.DeepEqual(got, wantOps) {
		t.Fatalf("ops = %v\nwant %v", got, wantOps)
	}
	// Warm invocations reuse the listing.
	use, _ = r.Lookup(ctx, "workers")
	if use.Cluster() || !reflect.DeepEqual(use.NodeRoleOf, []string{"eu-west-1/prod", "eu-west-1/stage"}) {
		t.Fatalf("workers = %+v", use)
	}
	if use, _ := r.Lookup(ctx, "someone-else"); use.Cluster() || use.Node() {
		t.Fatalf("unrelated role = %+v", use)
	}
	if n := len(w.Log.Calls()); n != len(wantOps) {
		t.Fatalf("cached lookups made %d more calls", n-len(wantOps))
	}
	// After the cache time, the clusters are listed again.
	now = now.Add(remediate.DefaultRoleCacheFor)
	w.EKS.Put(awsfake.Cluster{Name: "new", RoleARN: "arn:aws:iam::111122223333:role/new-control"})
	if use, _ := r.Lookup(ctx, "new-control"); !use.Cluster() {
		t.Fatalf("new cluster's role not found after refresh: %+v", use)
	}
}

func TestRoleLookupFailureIsReportedAndRetriedLater(t *testing.T) {
	w := awsfake.New(t)
	w.EKS.Put(awsfake.Cluster{Name: "prod", RoleARN: "arn:aws:iam::111122223333:role/ctl"})
	w.EKS.Fail("ListClusters", 1, awsfake.Fault{Status: 403, Code: "AccessDeniedException"})
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	r := roles(w, &now)
	_, err := r.Lookup(context.Background(), "ctl")
	if err == nil || !strings.Contains(err.Error(), "list EKS clusters in eu-west-1") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v", err)
	}
	// Within a minute the failure is remembered, with no new calls.
	now = now.Add(30 * time.Second)
	if _, err := r.Lookup(context.Background(), "ctl"); err == nil {
		t.Fatal("failure forgotten")
	}
	if n := len(w.Log.Calls()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	now = now.Add(time.Minute)
	if use, err := r.Lookup(context.Background(), "ctl"); err != nil || !use.Cluster() {
		t.Fatalf("after retry: %+v, %v", use, err)
	}
}
