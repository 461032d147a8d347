package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// worldOpen reports whether a CIDR admits every address of its family.
func worldOpen(cidr string) bool {
	pfx, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && pfx.Bits() == 0
}

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
	Events:  []string{"UpdateClusterConfig"},
	Actions: []string{finding.ActionUpdateClusterConfig},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		cc, ok := r.Params.(*cloudtrail.ClusterConfigParams)
		if !ok || r.Failed() || cc.ResourcesVPCConfig == nil {
			return nil
		}
		vpc := cc.ResourcesVPCConfig
		if isUnset(vpc.EndpointPublicAccess) || (vpc.EndpointPublicAccess == nil && vpc.PublicAccessCIDRs == nil) {
			return nil
		}
		approved := p.Endpoint.PublicAccessCIDRs
		f := finding.Finding{Cluster: cc.Cluster(), After: "public access CIDRs: " + strings.Join(vpc.PublicAccessCIDRs, ", ")}
		switch {
		case vpc.PublicAccessCIDRs == nil:
			f.After = "public access on, CIDRs not stated"
			f.Summary = fmt.Sprintf("public endpoint of cluster %s turned on without stating CIDRs", cc.Cluster())
			f.NeedsCheck = "the call did not state publicAccessCidrs, so the cluster keeps its previous list " +
				"(0.0.0.0/0 unless it was set before); check with aws eks describe-cluster"
		case slices.ContainsFunc(vpc.PublicAccessCIDRs, worldOpen):
			f.Summary = fmt.Sprintf("public endpoint of cluster %s opened to the whole internet", cc.Cluster())
		case len(approved) > 0:
			bad := outside(vpc.PublicAccessCIDRs, approved)
			if len(bad) == 0 {
				return nil
			}
			f.Summary = fmt.Sprintf("public endpoint of cluster %s opened to unapproved CIDRs %s", cc.Cluster(), strings.Join(bad, ", "))
		default:
			return nil // specific CIDRs and no approved list to compare with
		}
		switch {
		case len(approved) > 0:
			on := true
			f.Plan = &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cc.Cluster(),
				EndpointPublicAccess: &on, PublicAccessCIDRs: slices.Clone(approved),
				Reason: "limits the public endpoint to the approved CIDRs"}
		case !isUnset(vpc.EndpointPrivateAccess):
			off := false
			f.Plan = &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cc.Cluster(),
				EndpointPublicAccess: &off,
				Reason:               "no CIDRs are approved; turning public access off is safe only while private access is on, so it is checked first"}
		}
		return []finding.Finding{f}
	},
}

// PrivateEndpointDisabled flags private endpoint access turned off.
var PrivateEndpointDisabled = Rule{
	ID:       "private-endpoint-disabled",
	Title:    "Private API endpoint access turned off",
	Severity: finding.Medium,
	Rationale: "Without the private endpoint, nodes and in-VPC tools reach the API server over the public endpoint, " +
		"which then has to stay open to them.",
	Fix:    "Turn endpointPrivateAccess back on.",
	Events: []string{"UpdateClusterConfig"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		cc, ok := r.Params.(*cloudtrail.ClusterConfigParams)
		if !ok || r.Failed() || cc.ResourcesVPCConfig == nil || !isUnset(cc.ResourcesVPCConfig.EndpointPrivateAccess) {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("private endpoint access of cluster %s turned off", cc.Cluster()),
			Before:  "private access on", After: "private access off",
		}}
	},
}

// ControlPlaneLoggingDisabled flags required control-plane log types turned off.
var ControlPlaneLoggingDisabled = Rule{
	ID:       "control-plane-logging-disabled",
	Title:    "Required control-plane logging turned off",
	Severity: finding.High,
	Rationale: "The audit and authenticator logs are the record of who did what inside the cluster; turning them off " +
		"is a classic first step before abusing access.",
	Fix:     "Re-enable exactly the log types that were turned off.",
	Events:  []string{"UpdateClusterConfig"},
	Actions: []string{finding.ActionUpdateClusterConfig},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		cc, ok := r.Params.(*cloudtrail.ClusterConfigParams)
		if !ok || r.Failed() || cc.Logging == nil {
			return nil
		}
		var off []string
		for _, t := range cc.Logging.Disabled() {
			if slices.Contains(p.Logging.Required, t) && !slices.Contains(off, t) {
				off = append(off, t)
			}
		}
		if len(off) == 0 {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("%s logging turned off on cluster %s", strings.Join(off, ", "), cc.Cluster()),
			Before:  strings.Join(off, ", ") + " enabled", After: strings.Join(off, ", ") + " disabled",
			Plan: &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cc.Cluster(), EnableLogTypes: off,
				Reason: "re-enables only the required types that were turned off"},
		}}
	},
}

// AuthenticationModeChanged flags a change of the cluster's authentication mode.
var AuthenticationModeChanged = Rule{
	ID:       "authentication-mode-changed",
	Title:    "Cluster authentication mode changed",
	Severity: finding.Medium,
	Rationale: "The authentication mode decides whether the aws-auth ConfigMap, access entries or both grant access; " +
		"it can only move forward (CONFIG_MAP to API_AND_CONFIG_MAP to API), so a change cannot be undone.",
	Fix:    "Confirm the change was planned and that every principal that needs access has an access entry.",
	Events: []string{"UpdateClusterConfig"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		cc, ok := r.Params.(*cloudtrail.ClusterConfigParams)
		if !ok || r.Failed() || cc.AccessConfig == nil || cc.AccessConfig.AuthenticationMode == "" {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("authentication mode of cluster %s changed to %s (one-way)", cc.Cluster(), cc.AccessConfig.AuthenticationMode),
			After:   "authenticationMode " + cc.AccessConfig.AuthenticationMode,
		}}
	},
}

// ClusterCreatedInsecure flags a new cluster created without the baseline.
var ClusterCreatedInsecure = Rule{
	ID:       "cluster-created-insecure",
	Title:    "Cluster created without the security baseline",
	Severity: finding.Medium,
	Rationale: "Settings left at their defaults at creation stay that way: a world-open endpoint, no audit logs, " +
		"unencrypted secrets, and a creator who silently keeps cluster-admin.",
	Fix:    "Restrict the endpoint, enable the required logs, enable secrets encryption and remove the creator's admin entry.",
	Events: []string{"CreateCluster"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		cc, ok := r.Params.(*cloudtrail.CreateClusterParams)
		if !ok || r.Failed() {
			return nil
		}
		var issues []string
		// EKS defaults: public access on, open to 0.0.0.0/0.
		vpc := cc.ResourcesVPCConfig
		if vpc == nil {
			vpc = &cloudtrail.VPCConfig{}
		}
		if !isUnset(vpc.EndpointPublicAccess) && (len(vpc.PublicAccessCIDRs) == 0 || slices.ContainsFunc(vpc.PublicAccessCIDRs, worldOpen)) {
			issues = append(issues, "public endpoint open to 0.0.0.0/0")
		} else if !isUnset(vpc.EndpointPublicAccess) && len(p.Endpoint.PublicAccessCIDRs) > 0 {
			if bad := outside(vpc.PublicAccessCIDRs, p.Endpoint.PublicAccessCIDRs); len(bad) > 0 {
				issues = append(issues, "public endpoint open to unapproved CIDRs "+strings.Join(bad, ", "))
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
		encrypted := false
		for _, e := range cc.EncryptionConfig {
			if slices.Contains(e.Resources, "secrets") && e.Provider.KeyARN != "" {
				encrypted = true
			}
		}
		if !encrypted {
			issues = append(issues, "no KMS encryption of secrets")
		}
		if cc.AccessConfig == nil || !isUnset(cc.AccessConfig.BootstrapClusterCreatorAdminPermissions) {
			issues = append(issues, "creator keeps cluster-admin (bootstrapClusterCreatorAdminPermissions)")
		}
		if len(issues) == 0 {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("cluster %s created with: %s", cc.Cluster(), strings.Join(issues, "; ")),
			After:   strings.Join(issues, "; "),
		}}
	},
}
