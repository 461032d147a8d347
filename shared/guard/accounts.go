package guard

import (
	"github.com/eksguard/eksguard/shared/remediate"
)

// Clients are what the guard reads and fixes one account with: its own
// account's clients, or, in an organization deployment, those of another
// account's remediation role.
type Clients struct {
	// Exec runs the fixes (nil: none can run).
	Exec *remediate.Executor
	// RolePolicies lists a role's attached policies (the cluster function).
	RolePolicies RolePolicyLister
	// Roles looks up cluster and node roles through EKS (the iam function).
	Roles *remediate.Roles
}

// own are the guard's clients of its own account.
func (g *Guard) own() *Clients {
	return &Clients{Exec: g.Exec, RolePolicies: g.RolePolicies, Roles: g.Roles}
}

// clientsFor are the clients an event of the account is judged and fixed
// with: the guard's own, unless Accounts is set and the account is not
// the guard's.
func (g *Guard) clientsFor(account string) *Clients {
	if g.Accounts == nil || account == "" || account == g.Account {
		return g.own()
	}
	return g.Accounts(account)
}
