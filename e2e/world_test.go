//go:build e2e

package e2e

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

// The account the sample events happen in: two clusters with their roles,
// the access entries of the platform team, then the change each event
// records, so that a remediation finds the violation the event describes.

const (
	clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	viewPolicy         = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

func roleARN(name string) string { return "arn:aws:iam::" + account + ":role/" + name }

func managed(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "arn:aws:iam::aws:policy/" + n
	}
	return out
}

// seedAccount puts the baseline account, the kill switch as deployed and
// the Slack webhook secret in the fakes.
func seedAccount(w *awsfake.World, d *deployment, hook *slackHook) {
	w.SSM.Set(d.KillSwitch, d.KillSwitchValue)
	w.SSM.Set(d.Heartbeat, "not yet written by the canary")
	w.SecretsManager.Set(d.SlackSecret, hook.URL())
	w.EKS.Put(awsfake.Cluster{
		Name: "payments-prod", RoleARN: roleARN("payments-prod-cluster-role"),
		PublicAccess: true, PrivateAccess: true, PublicCIDRs: []string{"203.0.113.0/24"},
		Logs:               []string{"api", "audit", "authenticator"},
		DeletionProtection: true,
		Nodegroups:         map[string]string{"general": roleARN("payments-prod-node-role")},
		Entries: map[string]*awsfake.AccessEntry{
			roleARN("platform-admins"):     {Policies: []string{clusterAdminPolicy}},
			roleARN("break-glass"):         {Policies: []string{clusterAdminPolicy}},
			roleARN("payments-developers"): {Groups: []string{"payments-developers"}, Username: "payments-developer:{{SessionName}}"},
			roleARN("dev-team"):            {Policies: []string{viewPolicy}},
		},
	})
	w.EKS.Put(awsfake.Cluster{
		Name: "checkout-staging", RoleARN: roleARN("checkout-staging-cluster-role"),
		PrivateAccess: true,
		Logs:          []string{"api", "audit", "authenticator"},
		Nodegroups:    map[string]string{"general": roleARN("checkout-staging-node-role")},
		Entries: map[string]*awsfake.AccessEntry{
			roleARN("platform-admins"): {Policies: []string{clusterAdminPolicy}},
		},
	})
	// Three more clusters of the account, for the grant spree samples
	// (events/access/grant-spree-*: one role given access on five clusters).
	for _, name := range []string{"ledger-prod", "search-prod", "identity-prod"} {
		w.EKS.Put(awsfake.Cluster{
			Name: name, RoleARN: roleARN("checkout-staging-cluster-role"), PrivateAccess: true,
			Logs: []string{"api", "audit", "authenticator"},
		})
	}
	w.IAM.PutRole("payments-prod-cluster-role", managed("AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController")...)
	w.IAM.PutRole("checkout-staging-cluster-role", managed("AmazonEKSClusterPolicy")...)
	for _, r := range []string{"payments-prod-node-role", "checkout-staging-node-role"} {
		w.IAM.PutRole(r, managed("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")...)
	}
	w.IAM.PutRole("AmazonEKSAutoClusterRole", managed("AmazonEKSClusterPolicy", "AmazonEKSComputePolicy",
		"AmazonEKSBlockStoragePolicy", "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy")...)
	w.IAM.PutRole("legacy-workers", managed("AmazonEKSWorkerNodePolicy")...) // no cluster uses it
	w.IAM.PutRole("platform-admins", managed("AdministratorAccess")...)
	w.IAM.PutRole("break-glass")
	w.IAM.PutRole("dev-team")
}

// applyChange makes the change a (successful) event records, on the fakes.
func applyChange(t *testing.T, w *awsfake.World, raw []byte) {
	t.Helper()
	var ev struct {
		Detail struct {
			EventName         string         `json:"eventName"`
			ErrorCode         string         `json:"errorCode"`
			RequestParameters map[string]any `json:"requestParameters"`
			ResponseElements  struct {
				Association struct {
					AssociationID string `json:"associationId"`
				} `json:"association"`
			} `json:"responseElements"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	d := ev.Detail
	if d.ErrorCode != "" || d.RequestParameters == nil {
		return // the call failed: nothing changed
	}
	p := d.RequestParameters
	param := func(k string) string {
		s, _ := p[k].(string)
		if u, err := url.PathUnescape(s); err == nil { // path parameters arrive URL-encoded
			return u
		}
		return s
	}
	strs := func(v any) ([]string, bool) {
		list, ok := v.([]any)
		out := []string{}
		for _, x := range list {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out, ok
	}
	name := param("name")
	if name == "" {
		name = param("clusterName")
	}
	change := func(f func(c *awsfake.Cluster)) {
		c, ok := w.EKS.Get(name)
		if !ok {
			t.Fatalf("%s on cluster %s: the seeded account has no such cluster", d.EventName, name)
		}
		f(&c)
		w.EKS.Put(c)
	}
	entry := func(c *awsfake.Cluster) *awsfake.AccessEntry {
		e, ok := c.Entries[param("principalArn")]
		if !ok {
			e = &awsfake.AccessEntry{}
			c.Entries[param("principalArn")] = e
		}
		return e
	}
	role := param("roleName")
	attached, roleExists := w.IAM.Attached(role)
	if (d.EventName == "AttachRolePolicy" || d.EventName == "DetachRolePolicy") && !roleExists {
		t.Fatalf("%s on role %s: the seeded account has no such role", d.EventName, role)
	}

	switch d.EventName {
	case "AssociateAccessPolicy":
		change(func(c *awsfake.Cluster) {
			e := entry(c)
			if pol := param("policyArn"); !slices.Contains(e.Policies, pol) {
				e.Policies = append(e.Policies, pol)
			}
		})
	case "DisassociateAccessPolicy":
		change(func(c *awsfake.Cluster) {
			e := entry(c)
			e.Policies = slices.DeleteFunc(e.Policies, func(s string) bool { return s == param("policyArn") })
		})
	case "CreateAccessEntry", "UpdateAccessEntry":
		change(func(c *awsfake.Cluster) {
			e := entry(c)
			if g, ok := strs(p["kubernetesGroups"]); ok {
				e.Groups = g
			}
			if u := param("username"); u != "" {
				e.Username = u
			}
			if typ := param("type"); typ != "" {
				e.Type = typ
			}
		})
	case "DeleteAccessEntry":
		change(func(c *awsfake.Cluster) { delete(c.Entries, param("principalArn")) })
	case "UpdateClusterConfig":
		change(func(c *awsfake.Cluster) {
			if v, ok := p["resourcesVpcConfig"].(map[string]any); ok {
				if b, ok := v["endpointPublicAccess"].(bool); ok {
					c.PublicAccess = b
				}
				if b, ok := v["endpointPrivateAccess"].(bool); ok {
					c.PrivateAccess = b
				}
				if cidrs, ok := strs(v["publicAccessCidrs"]); ok {
					c.PublicCIDRs = cidrs
				} else if c.PublicAccess {
					c.PublicCIDRs = nil // EKS then allows 0.0.0.0/0
				}
			}
			if b, ok := p["deletionProtection"].(bool); ok {
				c.DeletionProtection = b
			}
			blocks, _ := dig(p, "logging", "clusterLogging")
			list, _ := blocks.([]any)
			for _, b := range list {
				m, _ := b.(map[string]any)
				types, _ := strs(m["types"])
				on, _ := m["enabled"].(bool)
				for _, typ := range types {
					c.Logs = slices.DeleteFunc(c.Logs, func(s string) bool { return s == typ })
					if on {
						c.Logs = append(c.Logs, typ)
					}
				}
			}
		})
	case "CreateCluster":
		c := awsfake.Cluster{Name: name, RoleARN: param("roleArn"), PublicAccess: true}
		if v, ok := p["resourcesVpcConfig"].(map[string]any); ok {
			if b, ok := v["endpointPublicAccess"].(bool); ok {
				c.PublicAccess = b
			}
			c.PrivateAccess, _ = v["endpointPrivateAccess"].(bool)
			c.PublicCIDRs, _ = strs(v["publicAccessCidrs"])
		}
		w.EKS.Put(c)
	case "AssociateIdentityProviderConfig":
		change(func(c *awsfake.Cluster) {
			oidc, _ := p["oidc"].(map[string]any)
			n, _ := oidc["identityProviderConfigName"].(string)
			issuer, _ := oidc["issuerUrl"].(string)
			if c.IdentityProviders == nil {
				c.IdentityProviders = map[string]string{}
			}
			c.IdentityProviders[n] = issuer
		})
	case "CreatePodIdentityAssociation", "UpdatePodIdentityAssociation":
		change(func(c *awsfake.Cluster) {
			id := d.ResponseElements.Association.AssociationID
			if c.PodIdentities == nil {
				c.PodIdentities = map[string]awsfake.PodIdentity{}
			}
			a := c.PodIdentities[id]
			if ns := param("namespace"); ns != "" {
				a.Namespace, a.ServiceAccount = ns, param("serviceAccount")
			}
			a.RoleARN, a.TargetRoleARN = param("roleArn"), param("targetRoleArn")
			c.PodIdentities[id] = a
		})
	case "AttachRolePolicy":
		if pol := param("policyArn"); !slices.Contains(attached, pol) {
			w.IAM.PutRole(role, append(attached, pol)...)
		}
	case "DetachRolePolicy":
		w.IAM.PutRole(role, slices.DeleteFunc(attached, func(s string) bool { return s == param("policyArn") })...)
	case "StopLogging":
		w.CloudTrail.PutTrail(name, false)
	}
	// Other events (encryption, deletions, node groups, inline and trust
	// policies, users and groups) change nothing eksguard reads back.
}
