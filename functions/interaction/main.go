// Command interaction is the Slack interaction Lambda (setting
// slackActions): behind a function URL, it verifies Slack's requests for
// the Apply fix and Expected change buttons and acts on them.
package main

import "github.com/eksguard/eksguard/shared/slackaction"

func main() { slackaction.Main() }
