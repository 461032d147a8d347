package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// outside returns the CIDRs not contained in any approved prefix. A CIDR
// that does not parse counts as outside.
func outside(cidrs, approved []string) []string {
	var out []string
	for _, c := range cidrs {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			out = append(out, c)
			continue
		}
		in := false
		for _, a := range approved {
			ap, err := netip.ParsePrefix(a)
			if err == nil && ap.Bits() <= pfx.Bits() && ap.Contains(pfx.Addr()) {
				in = true
				break
			}
		}
		if !in {
			out = append(out, c)
		}
	}
	return out
}

// opens words an exposure for a summary, leading with "the whole internet"
// when it is that.
func opens(e exposure) string {
	switch {
	case e.publicV4 == publicV4 && e.worldV6:
		return "the whole internet (every public IPv4 and IPv6 address)"
	case e.publicV4 == publicV4:
		return "the whole internet (every public IPv4 address)"
	case e.worldV6:
		return "the whole internet (every public IPv6 address)"
	}
	return e.String()
}

func isUnset(b *cloudtrail.Bool) bool { return b != nil && !bool(*b) }

// PublicEndpointOpened flags a public API endpoint opened to the internet,
// or to CIDRs the policy does not approve.
var PublicEndpointOpened = Rule{
	ID:       "public-endpoint-opened",
	Title:    "Cluster API endpoint opened to the internet",
	Severity: finding.High,
	Rationale: "A public endpoint reachable from 0.0.0.0/0 exposes the Kubernetes API to credential stuffing and to " +
		"any vulnerability in the API server; restricting it to known CIDRs removes most of that surface.",
	Fix:     "Restrict publicAccessCidrs to the approved CIDRs, or turn public access off when private access is on.",
	Actions: []string{finding.ActionUpdateClusterConfig},
	Examples: []Example{
		{Name: "opened to 0.0.0.0/0", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPublicAccess":true,"publicAccessCidrs":["0.0.0.0/0"]}}`, Fires: true},
		{Name: "opened to an unapproved CIDR", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"publicAccessCidrs":["198.51.100.0/24"]}}`, Fires: true},
		{Name: "limited to the approved CIDR", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.0/24"]}}`, Fires: false},
		{Name: "public access turned off", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPublicAccess":false,"endpointPrivateAccess":true}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if cc.ResourcesVPCConfig == nil {
			return nil
		}
		vpc := cc.ResourcesVPCConfig
		if isUnset(vpc.EndpointPublicAccess) || (vpc.EndpointPublicAccess == nil && vpc.PublicAccessCIDRs == nil) {
			return nil
		}
		if vpc.PublicAccessCIDRs == nil {
			f := finding.Finding{Cluster: cc.Cluster(), After: "public access on, CIDRs not stated",
				Summary: fmt.Sprintf("public endpoint of cluster %s turned on without stating CIDRs", cc.Cluster()),
				NeedsCheck: "the call did not state publicAccessCidrs, so the cluster keeps its previous list " +
					"(0.0.0.0/0 unless it was set before); check with aws eks describe-cluster"}
			f.Plan = publicEndpointPlan(p, cc.Cluster(), isUnset(vpc.EndpointPrivateAccess))
			return []finding.Finding{f}
		}
		return publicEndpoint(p, cc.Cluster(), vpc.PublicAccessCIDRs, isUnset(vpc.EndpointPrivateAccess), "opened to")
	}, "UpdateClusterConfig")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		if !s.EndpointPublicAccess {
			return nil
		}
		cidrs := s.PublicAccessCIDRs
		if len(cidrs) == 0 {
			cidrs = []string{"0.0.0.0/0"} // EKS's default when none are set
		}
		return publicEndpoint(p, s.Name, cidrs, !s.EndpointPrivateAccess, "is open to")
	}},
}

// publicEndpoint judges a public endpoint open to the CIDRs; privateOff
// says private access is known to be off; verb says whether it was just
// opened or is open.
func publicEndpoint(p *policy.Policy, cluster string, cidrs []string, privateOff bool, verb string) []finding.Finding {
	approved := p.Endpoint.PublicAccessCIDRs
	f := finding.Finding{Cluster: cluster, After: "public access CIDRs: " + strings.Join(cidrs, ", ")}
	if len(approved) > 0 {
		bad := outside(cidrs, approved)
		if len(bad) == 0 {
			return nil
		}
		f.Summary = fmt.Sprintf("public endpoint of cluster %s %s unapproved CIDRs %s: %s",
			cluster, verb, strings.Join(bad, ", "), opens(exposureOf(bad)))
	} else {
		// No approved list: judge how much of the internet the union opens.
		e := exposureOf(cidrs)
		if !e.wide() {
			return nil
		}
		f.Summary = fmt.Sprintf("public endpoint of cluster %s %s %s", cluster, verb, opens(e))
	}
	f.Plan = publicEndpointPlan(p, cluster, privateOff)
	return []finding.Finding{f}
}

func publicEndpointPlan(p *policy.Policy, cluster string, privateOff bool) *finding.Plan {
	switch {
	case len(p.Endpoint.PublicAccessCIDRs) > 0:
		on := true
		return &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cluster,
			EndpointPublicAccess: &on, PublicAccessCIDRs: slices.Clone(p.Endpoint.PublicAccessCIDRs),
			NodeEgressApproved: p.Endpoint.ApprovedIncludesNodeEgress,
			Reason:             "limits the public endpoint to the approved CIDRs; while private access is off, only if the policy says they hold the node egress"}
	case !privateOff:
		off := false
		return &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cluster,
			EndpointPublicAccess: &off,
			Reason:               "no CIDRs are approved; turning public access off is safe only while private access is on, so it is checked first"}
	}
	return nil
}

// PrivateEndpointDisabled flags private endpoint access turned off.
var PrivateEndpointDisabled = Rule{
	ID:       "private-endpoint-disabled",
	Title:    "Private API endpoint access turned off",
	Severity: finding.Medium,
	Rationale: "Without the private endpoint, nodes and in-VPC tools reach the API server over the public endpoint, " +
		"which then has to stay open to them.",
	Fix: "Turn endpointPrivateAccess back on.",
	Examples: []Example{
		{Name: "private access off", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPrivateAccess":false}}`, Fires: true},
		{Name: "private access on", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPrivateAccess":true}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if cc.ResourcesVPCConfig == nil || !isUnset(cc.ResourcesVPCConfig.EndpointPrivateAccess) {
			return nil
		}
		f := privateEndpointOff(cc.Cluster(), "turned off")
		f.Before = "private access on"
		return []finding.Finding{f}
	}, "UpdateClusterConfig")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		if s.EndpointPrivateAccess {
			return nil
		}
		return []finding.Finding{privateEndpointOff(s.Name, "is off")}
	}},
}

func privateEndpointOff(cluster, verb string) finding.Finding {
	return finding.Finding{
		Cluster: cluster,
		Summary: fmt.Sprintf("private endpoint access of cluster %s %s", cluster, verb),
		After:   "private access off",
	}
}

// ControlPlaneLoggingDisabled flags required control-plane log types turned off.
var ControlPlaneLoggingDisabled = Rule{
	ID:       "control-plane-logging-disabled",
	Title:    "Required control-plane logging turned off",
	Severity: finding.High,
	Rationale: "The audit and authenticator logs are the record of who did what inside the cluster; turning them off " +
		"is a classic first step before abusing access.",
	Fix:     "Re-enable exactly the log types that were turned off.",
	Actions: []string{finding.ActionUpdateClusterConfig},
	Examples: []Example{
		{Name: "audit logging off", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"],"enabled":false}]}}`, Fires: true},
		{Name: "scheduler logging off (not required)", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["scheduler"],"enabled":false}]}}`, Fires: false},
		{Name: "audit logging on", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"],"enabled":true}]}}`, Fires: false},
		{Name: "audit logging set without enabled", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"]}]}}`, Fires: true},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if cc.Logging == nil {
			return nil
		}
		off := required(p, cc.Logging.Disabled())
		unstated := slices.DeleteFunc(required(p, cc.Logging.Unstated()), func(t string) bool { return slices.Contains(off, t) })
		if len(off) == 0 && len(unstated) == 0 {
			return nil
		}
		f := loggingOff(cc.Cluster(), off, unstated, "turned off")
		if len(unstated) > 0 {
			f.NeedsCheck = fmt.Sprintf("the call set %s logging without an enabled key, for which the EKS API reference states no default; "+
				"check with aws eks describe-cluster (the fix enables them only if they are off)", strings.Join(unstated, ", "))
		}
		if len(off) == 0 {
			f.Severity = finding.Medium // not known to be off
			f.Summary = fmt.Sprintf("%s logging set on cluster %s without saying whether it is enabled", strings.Join(unstated, ", "), cc.Cluster())
			f.After = strings.Join(unstated, ", ") + " enabled not stated"
			return []finding.Finding{f}
		}
		f.Before = strings.Join(off, ", ") + " enabled"
		return []finding.Finding{f}
	}, "UpdateClusterConfig")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var off []string
		for _, t := range p.Logging.Required {
			if !s.LogTypes[t] {
				off = append(off, t)
			}
		}
		if len(off) == 0 {
			return nil
		}
		return []finding.Finding{loggingOff(s.Name, off, nil, "is off")}
	}},
}

// loggingOff is the finding for required log types that are off, and for
// those whose state a call left unstated.
func loggingOff(cluster string, off, unstated []string, verb string) finding.Finding {
	f := finding.Finding{
		Cluster: cluster,
		Plan: &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cluster, EnableLogTypes: slices.Concat(off, unstated),
			Reason: "re-enables only the required types that were turned off"},
	}
	if len(off) > 0 {
		f.Summary = fmt.Sprintf("%s logging %s on cluster %s", strings.Join(off, ", "), verb, cluster)
		f.After = strings.Join(off, ", ") + " disabled"
	}
	return f
}

// required keeps the log types the policy requires, once each, in order.
func required(p *policy.Policy, types []string) []string {
	var out []string
	for _, t := range types {
		if slices.Contains(p.Logging.Required, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// AuthenticationModeChanged flags a change of the cluster's authentication mode.
var AuthenticationModeChanged = Rule{
	ID:       "authentication-mode-changed",
	Title:    "Cluster authentication mode changed",
	Severity: finding.Medium,
	Rationale: "The authentication mode decides whether the aws-auth ConfigMap, access entries or both grant access; " +
		"it can only move forward (CONFIG_MAP to API_AND_CONFIG_MAP to API), so a change cannot be undone.",
	Fix: "Confirm the change was planned and that every principal that needs access has an access entry.",
	Examples: []Example{
		{Name: "moved to API", Event: "UpdateClusterConfig", Params: `{"name":"prod","accessConfig":{"authenticationMode":"API"}}`, Fires: true},
		{Name: "logging change only", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["api"],"enabled":true}]}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if cc.AccessConfig == nil || cc.AccessConfig.AuthenticationMode == "" {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("authentication mode of cluster %s changed to %s (one-way)", cc.Cluster(), cc.AccessConfig.AuthenticationMode),
			After:   "authenticationMode " + cc.AccessConfig.AuthenticationMode,
		}}
	}, "UpdateClusterConfig")},
}

// ClusterCreatedInsecure flags a new cluster created without the baseline.
var ClusterCreatedInsecure = Rule{
	ID:       "cluster-created-insecure",
	Title:    "Cluster created without the security baseline",
	Severity: finding.Medium,
	Rationale: "Settings left at their defaults at creation stay that way: a world-open endpoint, no audit logs, " +
		"unencrypted secrets, no deletion protection, and a creator who silently keeps cluster-admin.",
	Fix: "Restrict the endpoint, enable the required logs, enable secrets encryption and deletion protection, and remove the creator's admin entry.",
	Examples: []Example{
		{Name: "created with the defaults", Event: "CreateCluster", Params: `{"name":"prod","roleArn":"arn:aws:iam::111122223333:role/prod-cluster-role","resourcesVpcConfig":{"subnetIds":["subnet-1","subnet-2"]}}`, Fires: true},
		{Name: "created with the baseline", Event: "CreateCluster", Params: `{"name":"prod","roleArn":"arn:aws:iam::111122223333:role/prod-cluster-role","resourcesVpcConfig":{"endpointPublicAccess":false,"endpointPrivateAccess":true},"logging":{"clusterLogging":[{"types":["api","audit","authenticator"],"enabled":true}]},"encryptionConfig":[{"resources":["secrets"],"provider":{"keyArn":"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}],"accessConfig":{"authenticationMode":"API","bootstrapClusterCreatorAdminPermissions":false},"deletionProtection":true}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.CreateClusterParams, p *policy.Policy) []finding.Finding {
		var issues []string
		// EKS defaults: public access on, open to 0.0.0.0/0.
		vpc := cc.ResourcesVPCConfig
		if vpc == nil {
			vpc = &cloudtrail.VPCConfig{}
		}
		switch {
		case isUnset(vpc.EndpointPublicAccess):
		case len(vpc.PublicAccessCIDRs) == 0:
			issues = append(issues, "public endpoint open to 0.0.0.0/0")
		case len(p.Endpoint.PublicAccessCIDRs) > 0:
			if bad := outside(vpc.PublicAccessCIDRs, p.Endpoint.PublicAccessCIDRs); len(bad) > 0 {
				issues = append(issues, "public endpoint open to unapproved CIDRs "+strings.Join(bad, ", ")+": "+opens(exposureOf(bad)))
			}
		default:
			if e := exposureOf(vpc.PublicAccessCIDRs); e.wide() {
				issues = append(issues, "public endpoint open to "+opens(e))
			}
		}
		enabled := cc.Logging.Enabled()
		var missing []string
		for _, t := range p.Logging.Required {
			if !slices.Contains(enabled, t) {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			issues = append(issues, "required logs off: "+strings.Join(missing, ", "))
		}
		keyARN := ""
		for _, e := range cc.EncryptionConfig {
			if slices.Contains(e.Resources, "secrets") && e.Provider.KeyARN != "" {
				keyARN = e.Provider.KeyARN
			}
		}
		issues = append(issues, secretsIssues(keyARN)...)
		if cc.DeletionProtection == nil || !bool(*cc.DeletionProtection) {
			issues = append(issues, "no deletion protection")
		}
		creatorAdmin := cc.AccessConfig == nil || !isUnset(cc.AccessConfig.BootstrapClusterCreatorAdminPermissions)
		issues = append(issues, creatorIssues(creatorAdmin)...)
		return insecure(cc.Cluster(), "created with", issues)
	}, "CreateCluster")},
	// In state the endpoint, the logs and deletion protection are each
	// judged by their own rule's state form; this one judges the rest of
	// the baseline.
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		issues := secretsIssues(s.SecretsKeyARN)
		if s.BootstrapCreatorAdmin != nil {
			issues = append(issues, creatorIssues(*s.BootstrapCreatorAdmin)...)
		}
		return insecure(s.Name, "runs with", issues)
	}},
}

func secretsIssues(keyARN string) []string {
	if keyARN == "" {
		return []string{"no KMS encryption of secrets"}
	}
	return nil
}

func creatorIssues(creatorAdmin bool) []string {
	if creatorAdmin {
		return []string{"creator keeps cluster-admin (bootstrapClusterCreatorAdminPermissions)"}
	}
	return nil
}

func insecure(cluster, verb string, issues []string) []finding.Finding {
	if len(issues) == 0 {
		return nil
	}
	return []finding.Finding{{
		Cluster: cluster,
		Summary: fmt.Sprintf("cluster %s %s: %s", cluster, verb, strings.Join(issues, "; ")),
		After:   strings.Join(issues, "; "),
	}}
}

// ConfigChangeDenied flags failed attempts to weaken or remove a cluster:
// the cluster-level counterpart of access-change-denied.
var ConfigChangeDenied = Rule{
	ID:       "config-change-denied",
	Title:    "Denied attempt to change or delete a cluster",
	Severity: finding.Medium,
	Rationale: "A denied UpdateClusterConfig that would turn audit logging off or open the endpoint, a denied DeleteCluster " +
		"or a denied AssociateIdentityProviderConfig means an identity tried to blind, expose, destroy or add a way into " +
		"the cluster without the permission to; with stolen credentials that is often the first thing tried.",
	Fix: "Check who the actor is, what it tried and whether the attempt was expected.",
	Examples: []Example{
		{Name: "denied turning audit logging off", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"],"enabled":false}]}}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "denied delete", Event: "DeleteCluster", Params: `{"name":"prod"}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "delete of a cluster that is busy", Event: "DeleteCluster", Params: `{"name":"prod"}`, ErrorCode: "ResourceInUseException", Fires: false},
	},
	Judge: []Judgement{
		OnDenied(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
			var tried []string
			if off := required(p, cc.Logging.Disabled()); len(off) > 0 {
				tried = append(tried, "turn off "+strings.Join(off, ", ")+" logging")
			}
			if vpc := cc.ResourcesVPCConfig; vpc != nil {
				if open := vpc.PublicAccessCIDRs; !isUnset(vpc.EndpointPublicAccess) && open != nil {
					if approved := p.Endpoint.PublicAccessCIDRs; len(approved) > 0 {
						open = outside(open, approved)
					}
					if e := exposureOf(open); len(open) > 0 && (len(p.Endpoint.PublicAccessCIDRs) > 0 || e.wide()) {
						tried = append(tried, "open the public endpoint to "+opens(e))
					}
				}
				if isUnset(vpc.EndpointPrivateAccess) {
					tried = append(tried, "turn the private endpoint off")
				}
			}
			if isUnset(cc.DeletionProtection) {
				tried = append(tried, "turn deletion protection off")
			}
			sev, what := finding.Medium, strings.Join(tried, ", ")
			if len(tried) == 0 {
				sev, what = finding.Low, "change its configuration"
			}
			return configChangeDenied(r, sev, cc.Cluster(), what)
		}, "UpdateClusterConfig"),
		OnDenied(EKS, func(r *cloudtrail.Record, c *cloudtrail.ClusterParams, p *policy.Policy) []finding.Finding {
			sev := finding.Medium
			if p.IsProtectedCluster(c.Cluster()) {
				sev = finding.High
			}
			return configChangeDenied(r, sev, c.Cluster(), "delete it")
		}, "DeleteCluster"),
		OnDenied(EKS, func(r *cloudtrail.Record, ip *cloudtrail.IdentityProviderParams, p *policy.Policy) []finding.Finding {
			what := "associate an OIDC identity provider"
			if ip.OIDC != nil && ip.OIDC.IssuerURL != "" {
				what += " with issuer " + ip.OIDC.IssuerURL
			}
			return configChangeDenied(r, finding.Medium, ip.Cluster(), what)
		}, "AssociateIdentityProviderConfig"),
	},
}

func configChangeDenied(r *cloudtrail.Record, sev finding.Severity, cluster, what string) []finding.Finding {
	return []finding.Finding{{
		Severity: sev,
		Cluster:  cluster,
		Summary: fmt.Sprintf("%s was denied %s on cluster %s: tried to %s (%s)", r.UserIdentity.ARN, r.EventName,
			orUnknown(cluster), what, r.ErrorCode),
	}}
}
