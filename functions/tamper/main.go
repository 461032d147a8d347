// Command tamper is the eksguard function that watches eksguard's own eyes
// (families.Tamper): CloudTrail trails stopped or narrowed, and changes to
// the stack's EventBridge rules, functions, topic, table and kill switch
// made outside its deployment. It is a function of its own so that
// silencing the access, cluster or iam function is reported by another one.
// See docs/tamper.md.
package main

import (
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
)

func main() { guard.Main(families.Tamper) }
