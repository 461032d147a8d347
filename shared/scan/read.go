// Package scan reads the current state of the EKS clusters of an account
// and region through the EKS and IAM APIs, into clusterstate snapshots the
// rules judge. Paginators everywhere; a bounded number of clusters at a
// time; a read that fails for one cluster is reported and the rest go on.
package scan

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/identity"
)

// EKSAPI is the part of the EKS client a scan calls.
type EKSAPI interface {
	ListClusters(ctx context.Context, params *eks.ListClustersInput, optFns ...func(*eks.Options)) (*eks.ListClustersOutput, error)
	DescribeCluster(ctx context.Context, params *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
	ListAccessEntries(ctx context.Context, params *eks.ListAccessEntriesInput, optFns ...func(*eks.Options)) (*eks.ListAccessEntriesOutput, error)
	DescribeAccessEntry(ctx context.Context, params *eks.DescribeAccessEntryInput, optFns ...func(*eks.Options)) (*eks.DescribeAccessEntryOutput, error)
	ListAssociatedAccessPolicies(ctx context.Context, params *eks.ListAssociatedAccessPoliciesInput, optFns ...func(*eks.Options)) (*eks.ListAssociatedAccessPoliciesOutput, error)
	ListPodIdentityAssociations(ctx context.Context, params *eks.ListPodIdentityAssociationsInput, optFns ...func(*eks.Options)) (*eks.ListPodIdentityAssociationsOutput, error)
	DescribePodIdentityAssociation(ctx context.Context, params *eks.DescribePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error)
	ListIdentityProviderConfigs(ctx context.Context, params *eks.ListIdentityProviderConfigsInput, optFns ...func(*eks.Options)) (*eks.ListIdentityProviderConfigsOutput, error)
	DescribeIdentityProviderConfig(ctx context.Context, params *eks.DescribeIdentityProviderConfigInput, optFns ...func(*eks.Options)) (*eks.DescribeIdentityProviderConfigOutput, error)
	ListNodegroups(ctx context.Context, params *eks.ListNodegroupsInput, optFns ...func(*eks.Options)) (*eks.ListNodegroupsOutput, error)
	DescribeNodegroup(ctx context.Context, params *eks.DescribeNodegroupInput, optFns ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
}

// IAMAPI is the part of the IAM client a scan calls.
type IAMAPI interface {
	ListAttachedRolePolicies(ctx context.Context, params *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListRolePolicies(ctx context.Context, params *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRole(ctx context.Context, params *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// Actions are the IAM actions a scan calls, read from EKSAPI and IAMAPI
// (an API call's IAM action has its operation's name): the stack grants
// exactly these, so a call added to the reader cannot go ungranted.
func Actions() []string {
	var out []string
	for _, api := range []struct {
		service string
		typ     reflect.Type
	}{{"eks", reflect.TypeFor[EKSAPI]()}, {"iam", reflect.TypeFor[IAMAPI]()}} {
		for i := range api.typ.NumMethod() {
			out = append(out, api.service+":"+api.typ.Method(i).Name)
		}
	}
	slices.Sort(out)
	return out
}

// DefaultConcurrency is how many clusters of one region are read at a time.
const DefaultConcurrency = 8

// Reader reads the clusters of one account and region.
type Reader struct {
	EKS     EKSAPI
	IAM     IAMAPI
	Account string
	Region  string
	// Clusters, when set, limits the scan to these names.
	Clusters []string
	// Concurrency bounds the clusters read at a time (DefaultConcurrency when 0).
	Concurrency int

	roles sync.Map // role ARN -> *roleRead, shared by the clusters
}

type roleRead struct {
	once sync.Once
	role *clusterstate.Role
	err  error
}

// ClusterError is a cluster that could not be read.
type ClusterError struct {
	Account, Region, Cluster string
	Err                      error
}

func (e *ClusterError) Error() string {
	return fmt.Sprintf("cluster %s (account %s, region %s): %v", e.Cluster, e.Account, e.Region, e.Err)
}

func (e *ClusterError) Unwrap() error { return e.Err }

// ErrGone marks a cluster ListClusters named that was gone when read.
var ErrGone = errors.New("cluster no longer exists (deleted after it was listed)")

// List names the clusters to read: ListClusters, narrowed to Clusters.
func (r *Reader) List(ctx context.Context) ([]string, error) {
	var names []string
	p := eks.NewListClustersPaginator(r.EKS, &eks.ListClustersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list clusters in account %s, region %s: %w", r.Account, r.Region, err)
		}
		names = append(names, out.Clusters...)
	}
	if len(r.Clusters) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(r.Clusters, n) })
	}
	return names, nil
}

// Read reads the named clusters, Concurrency at a time, and calls each
// with every snapshot or with the cluster's error (*ClusterError; one
// wrapping ErrGone for a cluster deleted in between). Calls of each are
// not concurrent.
func (r *Reader) Read(ctx context.Context, names []string, each func(*clusterstate.Cluster, error)) {
	n := r.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, n)
	for _, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := r.cluster(ctx, name)
			if err != nil {
				err = &ClusterError{Account: r.Account, Region: r.Region, Cluster: name, Err: err}
			}
			mu.Lock()
			defer mu.Unlock()
			each(c, err)
		})
	}
	wg.Wait()
}

func notFound(err error) bool {
	var nf *ekstypes.ResourceNotFoundException
	return errors.As(err, &nf)
}

// cluster reads one cluster.
func (r *Reader) cluster(ctx context.Context, name string) (*clusterstate.Cluster, error) {
	out, err := r.EKS.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: &name})
	if notFound(err) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, fmt.Errorf("DescribeCluster: %w", err)
	}
	if out.Cluster == nil {
		return nil, errors.New("DescribeCluster: no cluster in the response")
	}
	c := fromCluster(out.Cluster)
	c.Account, c.Region, c.Name = r.Account, r.Region, name
	steps := []struct {
		what string
		read func(context.Context, *clusterstate.Cluster) error
	}{
		{"access entries", r.accessEntries},
		{"pod identity associations", r.podIdentities},
		{"identity provider configs", r.identityProviders},
		{"node groups", r.nodegroups},
		{"roles", r.readRoles},
	}
	for _, s := range steps {
		if err := s.read(ctx, c); err != nil {
			if notFound(err) && errors.Is(err, errClusterNotFound) {
				return nil, ErrGone
			}
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return c, nil
}

// errClusterNotFound marks a not-found answer about the cluster itself
// (not about an item of it that went away while it was read).
var errClusterNotFound = errors.New("cluster not found")

func clusterGone(err error) error {
	if notFound(err) {
		return fmt.Errorf("%w: %w", errClusterNotFound, err)
	}
	return err
}

func fromCluster(in *ekstypes.Cluster) *clusterstate.Cluster {
	c := &clusterstate.Cluster{ARN: aws.ToString(in.Arn), RoleARN: aws.ToString(in.RoleArn), LogTypes: map[string]bool{}}
	if v := in.ResourcesVpcConfig; v != nil {
		c.EndpointPublicAccess, c.EndpointPrivateAccess = v.EndpointPublicAccess, v.EndpointPrivateAccess
		c.PublicAccessCIDRs = v.PublicAccessCidrs
	}
	if in.Logging != nil {
		for _, s := range in.Logging.ClusterLogging {
			for _, t := range s.Types {
				c.LogTypes[string(t)] = aws.ToBool(s.Enabled)
			}
		}
	}
	if a := in.AccessConfig; a != nil {
		c.AuthenticationMode = string(a.AuthenticationMode)
		c.BootstrapCreatorAdmin = a.BootstrapClusterCreatorAdminPermissions
	}
	// A KMS key of the account's in the encryption config: EKS encrypts
	// with it (its resources list no longer narrows what is encrypted).
	for _, e := range in.EncryptionConfig {
		if e.Provider != nil && aws.ToString(e.Provider.KeyArn) != "" {
			c.SecretsKeyARN = aws.ToString(e.Provider.KeyArn)
		}
	}
	c.DeletionProtection = in.DeletionProtection
	if cc := in.ComputeConfig; cc != nil {
		c.AutoMode = aws.ToBool(cc.Enabled)
		c.AutoModeNodeRoleARN = aws.ToString(cc.NodeRoleArn)
	}
	if rn := in.RemoteNetworkConfig; rn != nil {
		for _, n := range rn.RemoteNodeNetworks {
			c.RemoteNodeNetworks = append(c.RemoteNodeNetworks, n.Cidrs...)
		}
		for _, n := range rn.RemotePodNetworks {
			c.RemotePodNetworks = append(c.RemotePodNetworks, n.Cidrs...)
		}
	}
	return c
}

func (r *Reader) accessEntries(ctx context.Context, c *clusterstate.Cluster) error {
	if strings.EqualFold(c.AuthenticationMode, string(ekstypes.AuthenticationModeConfigMap)) {
		return nil // no access entries: the aws-auth ConfigMap grants access
	}
	var arns []string
	p := eks.NewListAccessEntriesPaginator(r.EKS, &eks.ListAccessEntriesInput{ClusterName: &c.Name})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListAccessEntries: %w", clusterGone(err))
		}
		arns = append(arns, out.AccessEntries...)
	}
	for _, arn := range arns {
		out, err := r.EKS.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: &c.Name, PrincipalArn: &arn})
		if notFound(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return fmt.Errorf("DescribeAccessEntry %s: %w", arn, err)
		}
		e := clusterstate.AccessEntry{PrincipalARN: arn}
		if ae := out.AccessEntry; ae != nil {
			e.Type, e.Username, e.KubernetesGroups = aws.ToString(ae.Type), aws.ToString(ae.Username), ae.KubernetesGroups
		}
		pp := eks.NewListAssociatedAccessPoliciesPaginator(r.EKS, &eks.ListAssociatedAccessPoliciesInput{ClusterName: &c.Name, PrincipalArn: &arn})
		for pp.HasMorePages() {
			po, err := pp.NextPage(ctx)
			if notFound(err) {
				break
			}
			if err != nil {
				return fmt.Errorf("ListAssociatedAccessPolicies %s: %w", arn, err)
			}
			for _, ap := range po.AssociatedAccessPolicies {
				a := clusterstate.AccessPolicy{PolicyARN: aws.ToString(ap.PolicyArn)}
				if ap.AccessScope != nil {
					a.ScopeType, a.Namespaces = string(ap.AccessScope.Type), ap.AccessScope.Namespaces
				}
				e.Policies = append(e.Policies, a)
			}
		}
		c.AccessEntries = append(c.AccessEntries, e)
	}
	return nil
}

func (r *Reader) podIdentities(ctx context.Context, c *clusterstate.Cluster) error {
	var ids []string
	p := eks.NewListPodIdentityAssociationsPaginator(r.EKS, &eks.ListPodIdentityAssociationsInput{ClusterName: &c.Name})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListPodIdentityAssociations: %w", clusterGone(err))
		}
		for _, a := range out.Associations {
			ids = append(ids, aws.ToString(a.AssociationId))
		}
	}
	for _, id := range ids {
		out, err := r.EKS.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: &c.Name, AssociationId: &id})
		if notFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("DescribePodIdentityAssociation %s: %w", id, err)
		}
		if a := out.Association; a != nil {
			c.PodIdentities = append(c.PodIdentities, clusterstate.PodIdentity{AssociationID: id, Namespace: aws.ToString(a.Namespace),
				ServiceAccount: aws.ToString(a.ServiceAccount), RoleARN: aws.ToString(a.RoleArn), TargetRoleARN: aws.ToString(a.TargetRoleArn)})
		}
	}
	return nil
}

func (r *Reader) identityProviders(ctx context.Context, c *clusterstate.Cluster) error {
	var configs []ekstypes.IdentityProviderConfig
	p := eks.NewListIdentityProviderConfigsPaginator(r.EKS, &eks.ListIdentityProviderConfigsInput{ClusterName: &c.Name})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListIdentityProviderConfigs: %w", clusterGone(err))
		}
		configs = append(configs, out.IdentityProviderConfigs...)
	}
	for _, cfg := range configs {
		idp := clusterstate.IdentityProvider{Name: aws.ToString(cfg.Name), Type: aws.ToString(cfg.Type)}
		if strings.EqualFold(idp.Type, "oidc") {
			out, err := r.EKS.DescribeIdentityProviderConfig(ctx, &eks.DescribeIdentityProviderConfigInput{ClusterName: &c.Name,
				IdentityProviderConfig: &ekstypes.IdentityProviderConfig{Name: cfg.Name, Type: cfg.Type}})
			if notFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("DescribeIdentityProviderConfig %s: %w", idp.Name, err)
			}
			if out.IdentityProviderConfig != nil && out.IdentityProviderConfig.Oidc != nil {
				o := out.IdentityProviderConfig.Oidc
				idp.IssuerURL, idp.ClientID = aws.ToString(o.IssuerUrl), aws.ToString(o.ClientId)
				idp.UsernameClaim, idp.GroupsClaim, idp.GroupsPrefix = aws.ToString(o.UsernameClaim), aws.ToString(o.GroupsClaim), aws.ToString(o.GroupsPrefix)
			}
		}
		c.IdentityProviders = append(c.IdentityProviders, idp)
	}
	return nil
}

func (r *Reader) nodegroups(ctx context.Context, c *clusterstate.Cluster) error {
	var names []string
	p := eks.NewListNodegroupsPaginator(r.EKS, &eks.ListNodegroupsInput{ClusterName: &c.Name})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListNodegroups: %w", clusterGone(err))
		}
		names = append(names, out.Nodegroups...)
	}
	for _, name := range names {
		out, err := r.EKS.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: &c.Name, NodegroupName: &name})
		if notFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("DescribeNodegroup %s: %w", name, err)
		}
		ng := clusterstate.Nodegroup{Name: name}
		if n := out.Nodegroup; n != nil {
			ng.NodeRoleARN, ng.AMIType = aws.ToString(n.NodeRole), string(n.AmiType)
			if ra := n.RemoteAccess; ra != nil {
				ng.EC2SSHKey, ng.SourceSecurityGroups = aws.ToString(ra.Ec2SshKey), ra.SourceSecurityGroups
			}
		}
		c.Nodegroups = append(c.Nodegroups, ng)
	}
	return nil
}

// readRoles reads the roles of the cluster's account the cluster uses: its
// cluster role, node roles and pod identity roles. Roles of other accounts
// cannot be read with this account's credentials and are left out.
func (r *Reader) readRoles(ctx context.Context, c *clusterstate.Cluster) error {
	var arns []string
	for _, u := range c.RoleUses() {
		arns = append(arns, u.ARN)
	}
	for _, pi := range c.PodIdentities {
		arns = append(arns, pi.RoleARN, pi.TargetRoleARN)
	}
	c.Roles = map[string]*clusterstate.Role{}
	for _, arn := range arns {
		if arn == "" || c.Roles[arn] != nil || identity.Account(arn) != r.Account {
			continue
		}
		v, _ := r.roles.LoadOrStore(arn, &roleRead{})
		rr := v.(*roleRead)
		rr.once.Do(func() { rr.role, rr.err = r.role(ctx, arn) })
		if rr.err != nil {
			return rr.err
		}
		if rr.role != nil {
			c.Roles[arn] = rr.role
		}
	}
	return nil
}

// role reads one role; a role that does not exist gives nil.
func (r *Reader) role(ctx context.Context, arn string) (*clusterstate.Role, error) {
	name := identity.Name(arn)
	role := &clusterstate.Role{ARN: arn, Name: name}
	var nse *iamtypes.NoSuchEntityException
	p := iam.NewListAttachedRolePoliciesPaginator(r.IAM, &iam.ListAttachedRolePoliciesInput{RoleName: &name})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if errors.As(err, &nse) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ListAttachedRolePolicies %s: %w", name, err)
		}
		for _, a := range out.AttachedPolicies {
			role.AttachedPolicies = append(role.AttachedPolicies, aws.ToString(a.PolicyArn))
		}
	}
	ip := iam.NewListRolePoliciesPaginator(r.IAM, &iam.ListRolePoliciesInput{RoleName: &name})
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if errors.As(err, &nse) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ListRolePolicies %s: %w", name, err)
		}
		role.InlinePolicies = append(role.InlinePolicies, out.PolicyNames...)
	}
	out, err := r.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if errors.As(err, &nse) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("GetRole %s: %w", name, err)
	}
	if out.Role != nil && out.Role.AssumeRolePolicyDocument != nil {
		doc, err := url.QueryUnescape(*out.Role.AssumeRolePolicyDocument)
		if err != nil {
			return nil, fmt.Errorf("GetRole %s: decode assumeRolePolicyDocument: %w", name, err)
		}
		role.TrustPolicy = doc
	}
	return role, nil
}
