// Command hub is the Security Hub importer Lambda (setting securityHub):
// it reads the findings topic through an SQS queue and imports each finding
// with BatchImportFindings as an AWS Security Finding Format document.
package main

import "github.com/eksguard/eksguard/shared/hubimport"

func main() { hubimport.Main() }
