package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/suppress"
)

// suppressionsCmd lists the expected changes in force (Slack's Expected
// change button), from the eksguard table.
func suppressionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := newFlagSet("eksguard suppressions", stderr)
	table := fs.String("table", os.Getenv(config.EnvTable), "the eksguard table (the stack's TableName output; default $"+config.EnvTable+")")
	region := fs.String("region", "", "the stack's region (default: the AWS configuration's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *table == "" {
		fmt.Fprintln(stderr, "eksguard suppressions: --table is required (the stack's TableName output)")
		return 2
	}
	var opts []func(*awsconfig.LoadOptions) error
	if *region != "" {
		opts = append(opts, awsconfig.WithRegion(*region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard suppressions: AWS configuration: %v\n", err)
		return 2
	}
	store := &suppress.Store{DB: dynamodb.NewFromConfig(cfg), Table: *table, Now: now}
	list, err := store.List(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard suppressions: %v\n", err)
		return 1
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no expected changes in force")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tRESOURCE\tUNTIL (UTC)\tLEFT\tBY\tREASON")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Rule, s.Resource, s.Until.UTC().Format("2006-01-02 15:04"),
			s.Until.Sub(now()).Round(time.Minute), s.Who, s.Why)
	}
	_ = tw.Flush()
	return 0
}
