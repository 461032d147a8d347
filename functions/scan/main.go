// Command scan is the eksguard scheduled scan: run by EventBridge Scheduler,
// it reads the current state of the account's clusters and judges it with
// the same rules as the event functions; new findings are published (and
// remediated where the policy's scan.remediate says), findings already
// reported are not alerted again, and those gone are published as
// resolved. See shared/scanjob.
package main

import "github.com/eksguard/eksguard/shared/scanjob"

func main() { scanjob.Main() }
