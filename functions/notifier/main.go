// Command notifier is the Slack notifier Lambda: subscribed to the eksguard
// SNS topic, it posts each finding at or above the Slack threshold to the
// webhook stored in Secrets Manager, folding repeats (see docs/alerts.md).
package main

import "github.com/eksguard/eksguard/shared/slackalert"

func main() { slackalert.Main() }
