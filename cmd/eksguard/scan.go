package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/schollz/progressbar/v3"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/scan"
)

func scanCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eksguard scan", stderr)
	policyPath := fs.String("policy", "", "policy file (default: built-in defaults)")
	output := fs.String("output", "table", "output format: table, json or asff (AWS Security Finding Format, one document per line)")
	failOn := fs.String("fail-on", "high", "exit 1 when a finding has at least this severity (info|low|medium|high|critical), or none")
	roleName := fs.String("role-name", assume.DefaultRoleName, "the role --account assumes in each account (default: the organization mode's remediation role)")
	var regions, clusters, accounts listFlag
	fs.Var(&regions, "region", "region to scan (repeatable; default: the configured region)")
	fs.Var(&clusters, "cluster", "only this cluster (repeatable)")
	fs.Var(&accounts, "account", "scan this account by assuming --role-name in it (repeatable; default: the credentials' own account)")
	if rest, err := parseInterleaved(fs, args); err != nil || len(rest) > 0 {
		if err == nil {
			fmt.Fprintf(stderr, "eksguard scan: unexpected arguments %v\n", rest)
		}
		return 2
	}
	threshold, err := finding.ParseSeverity(*failOn)
	if *failOn == "none" {
		threshold, err = finding.Critical+1, nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "eksguard scan: --fail-on: %v\n", err)
		return 2
	}
	if *output != "table" && *output != "json" && *output != "asff" {
		fmt.Fprintf(stderr, "eksguard scan: --output: unknown format %q (want table, json or asff)\n", *output)
		return 2
	}
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard scan: %v\n", err)
		return 2
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard scan: load the AWS configuration: %v\n", err)
		return 2
	}
	if len(regions) == 0 {
		if cfg.Region == "" {
			fmt.Fprintln(stderr, "eksguard scan: no region: set AWS_REGION or pass --region")
			return 2
		}
		regions = listFlag{cfg.Region}
	}
	readers, err := scanReaders(ctx, cfg, accounts, regions, clusters, *roleName)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard scan: %v\n", err)
		return 2
	}

	table := newTableWriter(stdout)
	out := formatWriter(*output, table, stdout)
	writeFinding := out.write
	say := func(format string, a ...any) { fmt.Fprintf(stderr, format, a...) }
	var bar *scanProgress
	if isTerminal(stderr) {
		bar = startScanProgress(stderr)
		if isTerminal(stdout) {
			writeFinding = func(f *finding.Finding) { bar.pause(func() { out.write(f) }) }
		}
		say = func(format string, a ...any) { bar.pause(func() { fmt.Fprintf(stderr, format, a...) }) }
	}
	reached := false
	sum := scan.Run(ctx, readers, pol, scan.Hooks{
		Listed: func(n int) {
			if bar != nil {
				bar.listed(n)
			}
		},
		Finding: func(f *finding.Finding) {
			if f.Severity >= threshold {
				reached = true
			}
			writeFinding(f)
			if bar != nil {
				bar.found()
			}
		},
		Cluster: func(_ *clusterstate.Cluster, err error) {
			switch {
			case errors.Is(err, scan.ErrGone):
				say("eksguard scan: skipped %v\n", err)
			case err != nil:
				say("eksguard scan: could not read %v\n", err)
			}
			if bar != nil {
				bar.done()
			}
		},
		Region: func(err error) { say("eksguard scan: could not read %v\n", err) },
	})
	if bar != nil {
		bar.finish()
	}
	out.flush()
	if *output == "table" {
		gone := ""
		if sum.Gone > 0 {
			gone = fmt.Sprintf(", %d gone while read", sum.Gone)
		}
		fmt.Fprintf(stdout, "\n%d clusters in %d account/region pairs%s, %d findings%s, %d unreadable (policy: %s)\n",
			sum.Clusters, len(readers), gone, sum.Findings, table.summary(), sum.Failed, pol.Source())
	}
	switch {
	case sum.Failed > 0:
		return 2
	case reached:
		return 1
	}
	return 0
}

// scanReaders makes one reader per account and region: with the
// configuration's own credentials when no account is given, else with
// those of roleName assumed in each account.
func scanReaders(ctx context.Context, cfg aws.Config, accounts, regions, clusters []string, roleName string) ([]*scan.Reader, error) {
	stsClient := sts.NewFromConfig(cfg)
	type target struct {
		account string
		cfg     aws.Config
	}
	var targets []target
	if len(accounts) == 0 {
		who, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("read the credentials' account (sts:GetCallerIdentity): %w", err)
		}
		targets = append(targets, target{account: aws.ToString(who.Account), cfg: cfg})
	}
	for _, a := range accounts {
		roleARN := "arn:" + identity.Partition(regions[0]) + ":iam::" + a + ":role/" + roleName
		c := cfg.Copy()
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "eksguard-scan"
		}))
		if _, err := c.Credentials.Retrieve(ctx); err != nil {
			return nil, fmt.Errorf("account %s: assume %s: %w", a, roleARN, err)
		}
		targets = append(targets, target{account: a, cfg: c})
	}
	var out []*scan.Reader
	for _, t := range targets {
		iamClient := scan.NewIAM(t.cfg)
		for _, region := range regions {
			out = append(out, &scan.Reader{
				EKS:     scan.NewEKS(t.cfg, func(o *eks.Options) { o.Region = region }),
				IAM:     iamClient,
				Account: t.account, Region: region, Clusters: clusters,
			})
		}
	}
	return out, nil
}

// scanProgress draws a scan's progress on a terminal: clusters read of
// those listed so far, and findings so far.
type scanProgress struct {
	mu                    sync.Mutex
	bar                   *progressbar.ProgressBar
	total, read, findings int
}

func startScanProgress(w io.Writer) *scanProgress {
	p := &scanProgress{}
	p.bar = progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(progressEvery/2),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return p
}

func (p *scanProgress) describe() string {
	return fmt.Sprintf("%s/%s clusters, %s findings", thousands(int64(p.read)), thousands(int64(p.total)), thousands(int64(p.findings)))
}

func (p *scanProgress) listed(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += n
	p.bar.ChangeMax(max(p.total, 1))
	p.bar.Describe(p.describe())
}

func (p *scanProgress) found() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.findings++
	p.bar.Describe(p.describe())
}

func (p *scanProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read++
	p.bar.Describe(p.describe())
	_ = p.bar.Set(p.read)
}

func (p *scanProgress) pause(write func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Clear()
	write()
}

func (p *scanProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Describe(p.describe())
	_ = p.bar.Finish()
}
