// Command eksguard replays the eksguard rules over CloudTrail events and
// archives, lists the rule catalogue, validates policies and says whether a
// deployment is watching (status).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/fastjson"
)

const usage = `eksguard: see what eksguard flags and would do, before you turn it on.

Usage:
  eksguard replay [--policy FILE] [--output table|json|asff] [--fail-on SEVERITY] [--notify slack|sns]
                 [--since TIME] [--until TIME] [--account ID]... [--region REGION]... [--workers N]
                 [--report FILE.html] PATH...
  eksguard scan [--policy FILE] [--region REGION]... [--cluster NAME]... [--output table|json|asff]
               [--fail-on SEVERITY|none] [--account ID]... [--role-name NAME]
  eksguard rules [--policy FILE] [--output table|json|markdown]
  eksguard policy validate FILE...
  eksguard status [--stack NAME] [--region REGION]... [--account ID] [--window 30m]
  eksguard suppressions --table NAME [--region REGION]

PATH is a file, a directory (read recursively), s3://BUCKET/PREFIX (read where
CloudTrail delivered it, with the standard AWS credentials and AWS_ENDPOINT_URL_S3)
or - for standard input, holding EventBridge events, CloudTrail records, arrays of
either, CloudTrail S3 log files ({"Records":[...]}, plain or .gz) or JSON Lines.
--since, --until, --account and --region select by the CloudTrail key layout
(AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/), listing only what they
keep; TIME is a date, an RFC 3339 time or a duration before now (7d, 12h).

Exit status of replay: 0 when no finding reaches --fail-on (default high),
1 when one does, 2 when some input could not be read.

scan reads the current state of the clusters (DescribeCluster, access entries,
pod identities, identity providers, node groups, and the cluster and node roles
in IAM) with the standard AWS credentials and endpoints, and judges it with the
same rules, allow lists and fix plans as events. --account scans other accounts
by assuming --role-name (default eksguard-remediation) in each. Exit status as
replay: 2 when some cluster or region could not be read (scan says which and
goes on with the rest).

status answers "is eksguard watching?" per region, with the standard AWS
credentials: the trail, eksguard's EventBridge rules, its functions' reserved
concurrency, the last heartbeat and the kill switch. Exit status: 0 when all
is on, 1 when something is off, 2 for bad usage.

suppressions lists the expected changes in force (Slack's Expected change
button): rule, resource, until when, who and why.
`

func main() {
	useFastJSON()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// useFastJSON makes replay decode CloudTrail records with fastjson: the
// same results and errors as the functions' encoding/json (differential
// tests and a fuzz target in shared/cloudtrail hold it to that), in about
// half the time per record in scope (BENCHMARKS.md).
func useFastJSON() { cloudtrail.UseUnmarshal(fastjson.Unmarshal) }

// run is the whole CLI, testable without a process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "replay":
		return replayCmd(ctx, args[1:], stdin, stdout, stderr)
	case "scan":
		return scanCmd(ctx, args[1:], stdout, stderr)
	case "rules":
		return rulesCmd(args[1:], stdout, stderr)
	case "policy":
		if len(args) < 2 || args[1] != "validate" {
			fmt.Fprintln(stderr, "usage: eksguard policy validate FILE...")
			return 2
		}
		return validateCmd(args[2:], stdout, stderr)
	case "status":
		return statusCmd(ctx, args[1:], stdout, stderr, time.Now)
	case "suppressions":
		return suppressionsCmd(ctx, args[1:], stdout, stderr, time.Now)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "eksguard: unknown command %q\n\n%s", args[0], usage)
	return 2
}
