package asff

// The ASFF type namespaces and categories eksguard uses
// (namespace/category[/classifier]).
const (
	bestPractices       = "Software and Configuration Checks/AWS Security Best Practices"
	networkReachability = "Software and Configuration Checks/AWS Security Best Practices/Network Reachability"
	privilegeEscalation = "TTPs/Privilege Escalation"
	persistence         = "TTPs/Persistence"
	defenseEvasion      = "TTPs/Defense Evasion"
	lateralMovement     = "TTPs/Lateral Movement"
	unusualUser         = "Unusual Behaviors/User"
	dataExposure        = "Effects/Data Exposure"
	dataDestruction     = "Effects/Data Destruction"
	denialOfService     = "Effects/Denial of Service"
)

// classification is how a rule's findings are typed, and whether they
// report a change (one document per event) rather than a state (one per
// resource).
type classification struct {
	types  []string
	change bool
}

// ruleTypes covers every catalogue rule and the guard's
// remediation-suppressed and the interaction function's
// slack-action-refused; the test checks the catalogue against it.
var ruleTypes = map[string]classification{
	"cluster-admin-granted":             {types: []string{privilegeEscalation, bestPractices}},
	"privileged-group-granted":          {types: []string{privilegeEscalation, bestPractices}},
	"foreign-principal-granted":         {types: []string{persistence, bestPractices}},
	"iam-user-granted":                  {types: []string{bestPractices}},
	"node-entry-for-non-node-role":      {types: []string{privilegeEscalation}},
	"protected-access-removed":          {types: []string{denialOfService}},
	"access-change-denied":              {types: []string{unusualUser, privilegeEscalation}, change: true},
	"config-change-denied":              {types: []string{unusualUser}, change: true},
	"public-endpoint-opened":            {types: []string{networkReachability, dataExposure}},
	"private-endpoint-disabled":         {types: []string{networkReachability}},
	"control-plane-logging-disabled":    {types: []string{defenseEvasion, bestPractices}},
	"authentication-mode-changed":       {types: []string{bestPractices}},
	"cluster-created-insecure":          {types: []string{bestPractices}},
	"deletion-protection-disabled":      {types: []string{bestPractices}},
	"cluster-deleted":                   {types: []string{dataDestruction}, change: true},
	"cluster-network-changed":           {types: []string{networkReachability}},
	"auto-mode-node-role-changed":       {types: []string{privilegeEscalation}},
	"nodegroup-ssh-open":                {types: []string{networkReachability}},
	"identity-provider-associated":      {types: []string{persistence}},
	"pod-identity-escalation":           {types: []string{privilegeEscalation}},
	"required-policy-detached":          {types: []string{denialOfService, bestPractices}},
	"admin-policy-attached-to-eks-role": {types: []string{privilegeEscalation}},
	"eks-role-trust-changed":            {types: []string{persistence}},
	"eks-role-inline-policy-changed":    {types: []string{privilegeEscalation}},
	"trail-logging-stopped":             {types: []string{defenseEvasion + "/CloudTrailStopped"}},
	"eksguard-tampered":                 {types: []string{defenseEvasion}, change: true},
	"remediation-switched-off":          {types: []string{defenseEvasion}},
	"access-granted-then-removed":       {types: []string{unusualUser, defenseEvasion}, change: true},
	"principal-granted-many-clusters":   {types: []string{unusualUser, lateralMovement}, change: true},
	"aws-auth-admin-mapped":             {types: []string{privilegeEscalation, persistence}, change: true},
	"aws-auth-changed":                  {types: []string{bestPractices}, change: true},
	"cluster-admin-bound":               {types: []string{privilegeEscalation, persistence}},
	"anonymous-access-bound":            {types: []string{privilegeEscalation, dataExposure}},
	"impersonation-used":                {types: []string{privilegeEscalation, unusualUser}, change: true},
	"remediation-suppressed":            {types: []string{persistence, bestPractices}},
	"slack-action-refused":              {types: []string{unusualUser}, change: true},
}

// TypesOf is the ASFF Types of a rule's findings (the best-practice check
// category for a rule this table does not know).
func TypesOf(rule string) []string {
	if c, ok := ruleTypes[rule]; ok {
		return append([]string(nil), c.types...)
	}
	return []string{bestPractices}
}

// IsChange reports whether a rule's findings report an occurrence (one
// document per event) rather than a state of a resource.
func IsChange(rule string) bool { return ruleTypes[rule].change }
