package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/eksguard/eksguard/shared/identity"
)

// ClusterDirectory is the part of the EKS client role lookups use.
type ClusterDirectory interface {
	ListClusters(ctx context.Context, params *eks.ListClustersInput, optFns ...func(*eks.Options)) (*eks.ListClustersOutput, error)
	DescribeCluster(ctx context.Context, params *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
	ListNodegroups(ctx context.Context, params *eks.ListNodegroupsInput, optFns ...func(*eks.Options)) (*eks.ListNodegroupsOutput, error)
	DescribeNodegroup(ctx context.Context, params *eks.DescribeNodegroupInput, optFns ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
}

var _ ClusterDirectory = (*eks.Client)(nil)

// DefaultRoleCacheFor is how long a region's cluster and node roles are
// reused across warm invocations before they are listed again.
const DefaultRoleCacheFor = 10 * time.Minute

// failedCacheFor is how long a failed listing is remembered, so an IAM
// event storm does not turn into an EKS one when listing is denied.
const failedCacheFor = time.Minute

// Roles finds out through EKS whether an IAM role is a cluster role
// (DescribeCluster roleArn) or a node role (DescribeNodegroup nodeRole) of
// some cluster, for IAM events that carry only a role name. The answer for
// each region is cached.
type Roles struct {
	// EKS returns the EKS client of a region (required).
	EKS func(region string) ClusterDirectory
	// Regions are the regions whose clusters are looked at.
	Regions []string
	// CacheFor is how long a region's roles are reused (DefaultRoleCacheFor
	// when zero).
	CacheFor time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu    sync.Mutex
	snaps map[string]*roleSnapshot
}

type roleSnapshot struct {
	at      time.Time
	err     error
	cluster map[string][]string // role name -> clusters ("region/name") it serves
	node    map[string][]string
}

// RoleUse says what a role is used for.
type RoleUse struct {
	// ClusterRoleOf and NodeRoleOf list "region/cluster" where the role is
	// the cluster role or a node group's node role.
	ClusterRoleOf []string
	NodeRoleOf    []string
}

// Cluster reports whether the role is some cluster's role.
func (u RoleUse) Cluster() bool { return len(u.ClusterRoleOf) > 0 }

// Node reports whether the role is some node group's role.
func (u RoleUse) Node() bool { return len(u.NodeRoleOf) > 0 }

func (r *Roles) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Lookup says where the role (by name) is used. Regions that could not be
// listed are reported in the error; what the others say is still returned.
func (r *Roles) Lookup(ctx context.Context, roleName string) (RoleUse, error) {
	var use RoleUse
	var errs []error
	for _, region := range r.Regions {
		s := r.snapshot(ctx, region)
		if s.err != nil {
			errs = append(errs, s.err)
			continue
		}
		use.ClusterRoleOf = append(use.ClusterRoleOf, s.cluster[roleName]...)
		use.NodeRoleOf = append(use.NodeRoleOf, s.node[roleName]...)
	}
	return use, errors.Join(errs...)
}

func (r *Roles) snapshot(ctx context.Context, region string) *roleSnapshot {
	now := r.now()
	ttl := r.CacheFor
	if ttl <= 0 {
		ttl = DefaultRoleCacheFor
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.snaps[region]; ok {
		age := now.Sub(s.at)
		if (s.err == nil && age < ttl) || (s.err != nil && age < min(ttl, failedCacheFor)) {
			return s
		}
	}
	s := r.list(ctx, region)
	s.at = now
	if r.snaps == nil {
		r.snaps = map[string]*roleSnapshot{}
	}
	r.snaps[region] = s
	return s
}

// list reads every cluster's role and every node group's role in a region.
func (r *Roles) list(ctx context.Context, region string) *roleSnapshot {
	s := &roleSnapshot{cluster: map[string][]string{}, node: map[string][]string{}}
	c := r.EKS(region)
	var names []string
	pg := eks.NewListClustersPaginator(c, &eks.ListClustersInput{})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			s.err = fmt.Errorf("list EKS clusters in %s: %w", region, err)
			return s
		}
		names = append(names, out.Clusters...)
	}
	for _, name := range names {
		where := region + "/" + name
		out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
		if notFound(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			s.err = fmt.Errorf("describe EKS cluster %s: %w", where, err)
			return s
		}
		if out.Cluster != nil {
			addRole(s.cluster, aws.ToString(out.Cluster.RoleArn), where)
		}
		ng := eks.NewListNodegroupsPaginator(c, &eks.ListNodegroupsInput{ClusterName: aws.String(name)})
		for ng.HasMorePages() {
			page, err := ng.NextPage(ctx)
			if notFound(err) {
				break
			}
			if err != nil {
				s.err = fmt.Errorf("list node groups of %s: %w", where, err)
				return s
			}
			for _, g := range page.Nodegroups {
				d, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(name), NodegroupName: aws.String(g)})
				if notFound(err) {
					continue
				}
				if err != nil {
					s.err = fmt.Errorf("describe node group %s of %s: %w", g, where, err)
					return s
				}
				if d.Nodegroup != nil {
					addRole(s.node, aws.ToString(d.Nodegroup.NodeRole), where)
				}
			}
		}
	}
	return s
}

func addRole(m map[string][]string, roleARN, where string) {
	name := identity.Name(roleARN)
	if name != "" && !slices.Contains(m[name], where) {
		m[name] = append(m[name], where)
	}
}
