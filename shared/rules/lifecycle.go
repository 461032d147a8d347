package rules

import (
	"fmt"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

// DeletionProtectionDisabled flags deletion protection turned off.
var DeletionProtectionDisabled = Rule{
	ID:       "deletion-protection-disabled",
	Title:    "Cluster deletion protection turned off",
	Severity: finding.High,
	Rationale: "With deletion protection on, DeleteCluster fails until someone turns it off first; turning it off is the " +
		"step that makes the cluster, and everything running in it, one call away from gone.",
	Fix:     "Turn deletion protection back on.",
	Actions: []string{finding.ActionUpdateClusterConfig},
	Examples: []Example{
		{Name: "protection off", Event: "UpdateClusterConfig", Params: `{"name":"prod","deletionProtection":false}`, Fires: true},
		{Name: "protection on", Event: "UpdateClusterConfig", Params: `{"name":"prod","deletionProtection":true}`, Fires: false},
		{Name: "logging change", Event: "UpdateClusterConfig", Params: `{"name":"prod","logging":{"clusterLogging":[{"types":["api"],"enabled":true}]}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if !isUnset(cc.DeletionProtection) {
			return nil
		}
		f := deletionProtectionOff(cc.Cluster(), "turned off: it can now be deleted")
		f.Before = "deletion protection on"
		return []finding.Finding{f}
	}, "UpdateClusterConfig")},
	// Only where DescribeCluster reports deletion protection.
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		if s.DeletionProtection == nil || *s.DeletionProtection {
			return nil
		}
		return []finding.Finding{deletionProtectionOff(s.Name, "is off: it can be deleted")}
	}},
}

func deletionProtectionOff(cluster, verb string) finding.Finding {
	on := true
	return finding.Finding{
		Cluster: cluster,
		Summary: fmt.Sprintf("deletion protection of cluster %s %s with one call", cluster, verb),
		After:   "deletion protection off",
		Plan: &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: cluster, DeletionProtection: &on,
			Reason: "turns deletion protection back on; nothing else about the cluster changes"},
	}
}

// ClusterDeleted flags a deleted cluster.
var ClusterDeleted = Rule{
	ID:       "cluster-deleted",
	Title:    "Cluster deleted",
	Severity: finding.High,
	Rationale: "Deleting a cluster removes its control plane, its Kubernetes objects and secrets, and its access " +
		"entries; it cannot be undone, and destroying infrastructure is how many intrusions end.",
	Fix: "Nothing can bring the cluster back: confirm the deletion was planned, and if not, treat the actor's " +
		"credentials as compromised and rebuild from your infrastructure code and backups.",
	Examples: []Example{
		{Name: "cluster deleted", Event: "DeleteCluster", Params: `{"name":"prod"}`, Fires: true},
		{Name: "deletion refused (protection on)", Event: "DeleteCluster", Params: `{"name":"prod"}`, ErrorCode: "InvalidRequestException", Fires: false},
		{Name: "deleted by the automation role", Event: "DeleteCluster", Params: `{"name":"prod"}`, Actor: "arn:aws:sts::111122223333:assumed-role/terraform-deployer/ci", Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, c *cloudtrail.ClusterParams, p *policy.Policy) []finding.Finding {
		f := finding.Finding{
			Cluster: c.Cluster(),
			Summary: fmt.Sprintf("cluster %s deleted in account %s, region %s, by %s from %s", orUnknown(c.Cluster()),
				orUnknown(r.Account()), orUnknown(r.AWSRegion), orUnknown(r.UserIdentity.ARN), orUnknown(r.SourceIPAddress)),
			Before: "cluster " + c.Cluster() + " active", After: "cluster deleted (cannot be undone)",
		}
		if p.IsProtectedCluster(c.Cluster()) {
			f.Severity = finding.Critical
			f.Summary += " (a protected cluster)"
		}
		return []finding.Finding{f}
	}, "DeleteCluster")},
}

// ClusterNetworkChanged flags changed cluster networking: the security
// groups and subnets of the control plane's network interfaces, or the
// remote (hybrid) node and pod networks.
var ClusterNetworkChanged = Rule{
	ID:       "cluster-network-changed",
	Title:    "Cluster networking changed",
	Severity: finding.Medium,
	Rationale: "The cluster security groups decide what reaches the control plane's network interfaces and the nodes; " +
		"the subnets decide where those interfaces live; remote node and pod networks admit hybrid nodes from " +
		"on-premises ranges. A change to any of them can open the cluster to networks that were outside it.",
	Fix: "Compare the new security groups, subnets or remote networks with your infrastructure code.",
	Examples: []Example{
		{Name: "security groups replaced", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"securityGroupIds":["sg-0a1b2c3d"]}}`, Fires: true},
		{Name: "remote node network added", Event: "UpdateClusterConfig", Params: `{"name":"prod","remoteNetworkConfig":{"remoteNodeNetworks":[{"cidrs":["10.80.0.0/16"]}]}}`, Fires: true},
		{Name: "endpoint change only", Event: "UpdateClusterConfig", Params: `{"name":"prod","resourcesVpcConfig":{"endpointPrivateAccess":true}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		var changed []string
		if vpc := cc.ResourcesVPCConfig; vpc != nil {
			if vpc.SecurityGroupIDs != nil {
				changed = append(changed, "security groups ["+strings.Join(vpc.SecurityGroupIDs, ", ")+"]")
			}
			if vpc.SubnetIDs != nil {
				changed = append(changed, "subnets ["+strings.Join(vpc.SubnetIDs, ", ")+"]")
			}
		}
		if rn := cc.RemoteNetworkConfig; rn != nil {
			changed = append(changed, "remote node networks ["+strings.Join(networkCIDRs(rn.RemoteNodeNetworks), ", ")+"]",
				"remote pod networks ["+strings.Join(networkCIDRs(rn.RemotePodNetworks), ", ")+"]")
		}
		if len(changed) == 0 {
			return nil
		}
		return []finding.Finding{{
			Cluster: cc.Cluster(),
			Summary: fmt.Sprintf("networking of cluster %s changed: %s", cc.Cluster(), strings.Join(changed, "; ")),
			After:   strings.Join(changed, "; "),
		}}
	}, "UpdateClusterConfig")},
}

func networkCIDRs(ns []cloudtrail.RemoteNetwork) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.CIDRs...)
	}
	return out
}

// AutoModeNodeRoleChanged flags the EKS Auto Mode node role set to a role
// of another account, or to one the policy does not know as a node role.
var AutoModeNodeRoleChanged = Rule{
	ID:       "auto-mode-node-role-changed",
	Title:    "Auto Mode node role set to an unexpected role",
	Severity: finding.High,
	Rationale: "EKS Auto Mode launches every node with computeConfig.nodeRoleArn, so each pod on those nodes can reach " +
		"that role's credentials; a role from another account, or one that is not a node role, hands its " +
		"permissions to every workload.",
	Fix: "Set computeConfig.nodeRoleArn back to the cluster's node role.",
	Examples: []Example{
		{Name: "node role of another account", Event: "UpdateClusterConfig", Params: `{"name":"prod","computeConfig":{"enabled":true,"nodePools":["general-purpose"],"nodeRoleArn":"arn:aws:iam::444455556666:role/prod-node-role"}}`, Fires: true},
		{Name: "an ops role as node role", Event: "UpdateClusterConfig", Params: `{"name":"prod","computeConfig":{"enabled":true,"nodeRoleArn":"arn:aws:iam::111122223333:role/ops"}}`, Fires: true},
		{Name: "the node role", Event: "UpdateClusterConfig", Params: `{"name":"prod","computeConfig":{"enabled":true,"nodeRoleArn":"arn:aws:iam::111122223333:role/prod-node-role"}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, cc *cloudtrail.ClusterConfigParams, p *policy.Policy) []finding.Finding {
		if cc.ComputeConfig == nil {
			return nil
		}
		return autoModeNodeRole(p, cc.Cluster(), cc.ComputeConfig.NodeRoleARN, r.Account(), "set to")
	}, "UpdateClusterConfig")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		return autoModeNodeRole(p, s.Name, s.AutoModeNodeRoleARN, s.Account, "is")
	}},
}

func autoModeNodeRole(p *policy.Policy, cluster, role, ownAccount, verb string) []finding.Finding {
	if role == "" {
		return nil
	}
	var why []string
	if acct := identity.Account(role); acct == "" || !p.TrustedAccount(acct, ownAccount) {
		why = append(why, "of untrusted account "+orUnknown(acct))
	}
	if !p.IsNodeRole(identity.Name(role)) {
		why = append(why, "not matching roles.node")
	}
	if len(why) == 0 {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: role,
		Summary:   fmt.Sprintf("Auto Mode node role of cluster %s %s %s, %s", cluster, verb, role, strings.Join(why, " and ")),
		After:     "computeConfig.nodeRoleArn " + role,
	}}
}

// NodegroupSSHOpen flags a managed node group created with an SSH key and
// no source security groups: EKS then opens the SSH port of every node to
// 0.0.0.0/0.
var NodegroupSSHOpen = Rule{
	ID:       "nodegroup-ssh-open",
	Title:    "Node group created with SSH open to the internet",
	Severity: finding.High,
	Rationale: "When a managed node group names an EC2 SSH key and no source security groups, EKS opens port 22 " +
		"(3389 on Windows) of every node to 0.0.0.0/0; the nodes hold the node role's credentials and every pod's " +
		"secrets. Remote access is fixed at creation, so it cannot be narrowed afterwards.",
	Fix: "Create a replacement node group without remoteAccess (use SSM Session Manager) or with sourceSecurityGroups, " +
		"move the workloads to it, then delete this node group.",
	Examples: []Example{
		{Name: "SSH key, no source security groups", Event: "CreateNodegroup", Params: `{"clusterName":"prod","nodegroupName":"ng-1","nodeRole":"arn:aws:iam::111122223333:role/prod-node-role","remoteAccess":{"ec2SshKey":"ops"}}`, Fires: true},
		{Name: "SSH limited to a bastion group", Event: "CreateNodegroup", Params: `{"clusterName":"prod","nodegroupName":"ng-1","nodeRole":"arn:aws:iam::111122223333:role/prod-node-role","remoteAccess":{"ec2SshKey":"ops","sourceSecurityGroups":["sg-0bastion"]}}`, Fires: false},
		{Name: "no remote access", Event: "CreateNodegroup", Params: `{"clusterName":"prod","nodegroupName":"ng-1","nodeRole":"arn:aws:iam::111122223333:role/prod-node-role"}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ng *cloudtrail.NodegroupParams, p *policy.Policy) []finding.Finding {
		ra := ng.RemoteAccess
		if ra == nil {
			return nil
		}
		return sshOpen(ng.Cluster(), ng.NodegroupName, ng.AMIType, ra.EC2SSHKey, ra.SourceSecurityGroups, "created with")
	}, "CreateNodegroup")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, ng := range s.Nodegroups {
			for _, f := range sshOpen(s.Name, ng.Name, ng.AMIType, ng.EC2SSHKey, ng.SourceSecurityGroups, "has") {
				f.Resource = "nodegroup/" + ng.Name
				out = append(out, f)
			}
		}
		return out
	}},
}

func sshOpen(cluster, nodegroup, amiType, sshKey string, sourceSecurityGroups []string, verb string) []finding.Finding {
	if sshKey == "" || len(sourceSecurityGroups) > 0 {
		return nil
	}
	port := "22 (SSH)"
	if strings.HasPrefix(strings.ToUpper(amiType), "WINDOWS") {
		port = "3389 (RDP)"
	}
	return []finding.Finding{{
		Cluster: cluster,
		Summary: fmt.Sprintf("node group %s of cluster %s %s SSH key %s and no source security groups: port %s of every node is open to 0.0.0.0/0",
			nodegroup, cluster, verb, sshKey, port),
		After: "remoteAccess ec2SshKey " + sshKey + ", sourceSecurityGroups none",
		NeedsCheck: "remote access cannot be changed on an existing node group, so there is no automatic fix: create a replacement node group " +
			"without remoteAccess or with sourceSecurityGroups, drain this one (kubectl drain, or scale it to zero) and delete it",
	}}
}
