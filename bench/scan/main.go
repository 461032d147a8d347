// Command scan measures `eksguard scan`'s reader against a local fake of
// the EKS and IAM APIs with a latency per call and a throttle per API
// action: the wall time, the calls made, the ratio to the floor the
// throttle sets (the calls of the busiest action over the rate), the calls
// throttled and failed, and the heap the scan adds (it should not grow with
// the number of clusters: each snapshot is judged and dropped).
//
//	go run ./bench/scan -clusters 200 -entries 50 -mode paced
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/scan"
)

const account = "111122223333"

func main() {
	clusters := flag.Int("clusters", 200, "clusters in the account")
	entries := flag.Int("entries", 50, "access entries per cluster")
	policies := flag.Int("policies", 2, "associated access policies per entry")
	nodegroups := flag.Int("nodegroups", 2, "node groups per cluster")
	latency := flag.Duration("latency", 20*time.Millisecond, "latency of every call")
	rate := flag.Float64("rate", 10, "calls per second each API action takes before it answers throttling")
	mode := flag.String("mode", "paced", "adaptive: the SDK's adaptive retry mode alone; paced: also scan.PaceEachAction at -rate")
	flag.Parse()
	if *mode != "adaptive" && *mode != "paced" {
		fmt.Fprintln(os.Stderr, "bench/scan: -mode adaptive or paced")
		os.Exit(2)
	}

	fake := ekstatefake.New(account)
	fake.Latency, fake.RatePerAction = *latency, *rate
	role := func(n string) string { return "arn:aws:iam::" + account + ":role/" + n }
	pol := []string{"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"}
	for c := range *clusters {
		cl := ekstatefake.Cluster{Name: fmt.Sprintf("cluster-%03d", c), RoleARN: role("bench-cluster-role"), PrivateAccess: true,
			Logs: map[string]bool{"api": true, "audit": true, "authenticator": true}, AuthenticationMode: "API"}
		for e := range *entries {
			en := ekstatefake.Entry{PrincipalARN: role(fmt.Sprintf("team-%02d", e))}
			for p := range *policies {
				en.Policies = append(en.Policies, ekstatefake.Association{PolicyARN: pol[p%len(pol)], Scope: "namespace", Namespaces: []string{fmt.Sprintf("ns-%d", p)}})
			}
			cl.Entries = append(cl.Entries, en)
		}
		for n := range *nodegroups {
			cl.Nodegroups = append(cl.Nodegroups, ekstatefake.Nodegroup{Name: fmt.Sprintf("ng-%d", n), NodeRole: role("bench-node-role")})
		}
		fake.Seed(account, "eu-west-1", cl)
	}
	fake.SeedRole(account, ekstatefake.Role{Name: "bench-cluster-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}})
	fake.SeedRole(account, ekstatefake.Role{Name: "bench-node-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
		"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")}
	var eksOpts []func(*eks.Options)
	var iamOpts []func(*iam.Options)
	eksOpts = append(eksOpts, func(o *eks.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	iamOpts = append(iamOpts, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	if *mode == "paced" {
		pace := scan.PaceEachAction(*rate)
		eksOpts = append(eksOpts, func(o *eks.Options) { o.APIOptions = append(o.APIOptions, pace) })
		iamOpts = append(iamOpts, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, pace) })
	}
	r := &scan.Reader{EKS: scan.NewEKS(cfg, eksOpts...), IAM: scan.NewIAM(cfg, iamOpts...), Account: account, Region: "eu-west-1"}

	// The heap the scan adds: sampled while it runs, over the heap after
	// seeding (the fake's state is fixed from here on).
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	start := time.Now()
	var failed []error
	sum := scan.Run(context.Background(), []*scan.Reader{r}, policy.Default(), scan.Hooks{
		Finding: func(*finding.Finding) {},
		Cluster: func(_ *clusterstate.Cluster, err error) {
			if err != nil {
				failed = append(failed, err)
			}
		},
		Region: func(err error) { failed = append(failed, err) },
	})
	wall := time.Since(start)
	close(stop)

	calls, throttled := fake.Calls(), fake.Throttled()
	var ops []string
	total, totalThrottled, busiest := 0, 0, 0
	busiestOp := ""
	for op, n := range calls {
		ops = append(ops, op)
		total += n
		totalThrottled += throttled[op]
		if ok := n - throttled[op]; ok > busiest {
			busiest, busiestOp = ok, op
		}
	}
	slices.Sort(ops)
	floor := time.Duration(float64(busiest) / *rate * float64(time.Second))
	fmt.Printf("mode %s: %d clusters x %d access entries (%d policies each), %d node groups each; %s per call, %.0f calls/s per action\n",
		*mode, *clusters, *entries, *policies, *nodegroups, *latency, *rate)
	for _, op := range ops {
		fmt.Printf("  %-32s %7d calls  %6d throttled\n", op, calls[op], throttled[op])
	}
	growth := int64(peak.Load()) - int64(base)
	fmt.Printf("wall %.1fs; %d calls (%d throttled, then retried); floor %.1fs (%d %s at %.0f/s); ratio %.2fx; %d clusters read, %d failed, %d findings; heap added by the scan, peak %.1f MiB\n",
		wall.Seconds(), total, totalThrottled, floor.Seconds(), busiest, busiestOp, *rate, wall.Seconds()/floor.Seconds(),
		sum.Clusters, len(failed), sum.Findings, float64(growth)/(1<<20))
	for _, err := range failed {
		fmt.Println("  failed:", err)
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
}
