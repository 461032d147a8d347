package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/strictyaml"
)

// stackNameRE is what CloudFormation accepts as a stack name.
var stackNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// LogTypes are the EKS control-plane log types.
var LogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// Load reads and validates a policy file. knownRules are the rule IDs the
// policy may configure.
func Load(path string, knownRules []string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(data, path, knownRules)
}

// Parse validates a policy document strictly: unknown keys, wrong types, bad
// CIDRs, malformed ARN patterns and unknown rule IDs are errors that give
// the file name and line.
func Parse(data []byte, name string, knownRules []string) (*Policy, error) {
	p := &Policy{sourceName: name}
	p.Notify.Slack.MinSeverity = DefaultSlackSeverity
	p.Notify.SNS.MinSeverity = DefaultSNSSeverity
	if err := strictyaml.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yamlError(err))
	}
	file, err := strictyaml.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, yamlError(err))
	}
	v := &validator{name: name, line: yamlLines(file)}
	v.check(p, knownRules)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	p.applyDefaults()
	return p, nil
}

// yamlError turns the YAML library's error into "line N: message".
func yamlError(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return fmt.Sprintf("line %d: %s", ye.GetToken().Position.Line, ye.GetMessage())
	}
	return err.Error()
}

// clusterRoleRE is a Kubernetes object name (a DNS subdomain, with the ':'
// RBAC names use), '*' allowed as a glob.
var clusterRoleRE = regexp.MustCompile(`^[a-z0-9*]([-a-z0-9.:*]{0,251}[a-z0-9*])?$`)

type validator struct {
	name string
	// line finds the line of a dotted path in the document, or 0; nil for
	// a document without lines to name (the JSON form).
	line func(path string) int
	errs []error
}

// errorf records an error at the YAML path (e.g. "endpoint.publicAccessCidrs[1]").
func (v *validator) errorf(path, format string, args ...any) {
	line := 0
	if v.line != nil {
		line = v.line(path)
	}
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		v.errs = append(v.errs, fmt.Errorf("%s:%d: %s: %s", v.name, line, path, msg))
		return
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s: %s", v.name, path, msg))
}

// yamlLines finds the line of a dotted path in a YAML document, or 0.
func yamlLines(file *ast.File) func(path string) int {
	return func(path string) int { return yamlLine(file, path) }
}

func yamlLine(file *ast.File, path string) int {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range splitPath(path) {
		if strings.HasPrefix(seg, "[") {
			b.WriteString(seg)
			continue
		}
		b.WriteString(".'" + seg + "'")
	}
	node, err := strictyaml.Find(file, b.String())
	if err != nil || node == nil || node.GetToken() == nil {
		return 0
	}
	return node.GetToken().Position.Line
}

// splitPath splits "a.b[1]" into "a", "b", "[1]".
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		if i := strings.IndexByte(part, '['); i > 0 {
			out = append(out, part[:i], part[i:])
			continue
		}
		out = append(out, part)
	}
	return out
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// arn:PARTITION:SERVICE::ACCOUNT:RESOURCE, globs allowed in every part.
	arnPatternRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc|\*):(iam|sts|\*):[^:]*:([0-9]{12}|[0-9]*[*?][0-9*?]*):(\S+)$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@*?/-]+$`)
)

func (v *validator) check(p *Policy, knownRules []string) {
	if p.Version != 1 {
		v.errorf("version", "must be 1, got %d", p.Version)
	}
	v.mode("defaults.mode", p.Defaults.Mode)
	for i, a := range p.Accounts.Trusted {
		if !accountRE.MatchString(a) {
			v.errorf(fmt.Sprintf("accounts.trusted[%d]", i), "%q is not a 12-digit account ID", a)
		}
	}
	v.arnPatterns("principals.admins", p.Principals.Admins)
	v.arnPatterns("principals.protected", p.Principals.Protected)
	v.arnPatterns("principals.automation", p.Principals.Automation)
	for i, g := range p.Kubernetes.PrivilegedGroups {
		if strings.TrimSpace(g) == "" {
			v.errorf(fmt.Sprintf("kubernetes.privilegedGroups[%d]", i), "empty group name")
		}
	}
	for i, r := range p.Kubernetes.PrivilegedClusterRoles {
		if !clusterRoleRE.MatchString(r) {
			v.errorf(fmt.Sprintf("kubernetes.privilegedClusterRoles[%d]", i), "%q is not a ClusterRole name or pattern (lower-case letters, digits, '-', '.', ':', '*')", r)
		}
	}
	for i, c := range p.Endpoint.PublicAccessCIDRs {
		path := fmt.Sprintf("endpoint.publicAccessCidrs[%d]", i)
		pfx, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			v.errorf(path, "%q is not a CIDR (want e.g. 203.0.113.0/24)", c)
		case pfx.Masked() != pfx:
			v.errorf(path, "%q has host bits set; did you mean %s?", c, pfx.Masked())
		case pfx.Bits() == 0:
			v.errorf(path, "%q allows the whole internet; leave the list empty to forbid public access instead", c)
		}
	}
	if p.Endpoint.ApprovedIncludesNodeEgress && len(p.Endpoint.PublicAccessCIDRs) == 0 {
		v.errorf("endpoint.approvedIncludesNodeEgress", "is true but endpoint.publicAccessCidrs is empty: there are no approved CIDRs to hold the node egress")
	}
	for i, c := range p.Clusters.Protected {
		if strings.TrimSpace(c) == "" {
			v.errorf(fmt.Sprintf("clusters.protected[%d]", i), "empty cluster-name pattern")
		}
	}
	for i, u := range p.IdentityProviders.Allowed {
		if !strings.HasPrefix(u, "https://") || len(u) == len("https://") {
			v.errorf(fmt.Sprintf("identityProviders.allowed[%d]", i), "%q is not an issuer URL pattern (OIDC issuers are https:// URLs, globs allowed)", u)
		}
	}
	for i, l := range p.Logging.Required {
		if !slices.Contains(LogTypes, l) {
			v.errorf(fmt.Sprintf("logging.required[%d]", i), "unknown log type %q (want one of %s)", l, strings.Join(LogTypes, ", "))
		}
	}
	v.roleNames("roles.cluster", p.Roles.Cluster)
	v.roleNames("roles.node", p.Roles.Node)
	if n := p.Self.StackName; n != "" && !stackNameRE.MatchString(n) {
		v.errorf("self.stackName", "%q is not a CloudFormation stack name (a letter, then letters, digits and hyphens, at most 128)", n)
	}
	v.rules("rules", p.Rules, knownRules)
	v.adminsForRemediation("", p, knownRules)
	v.accounts(p, knownRules)
	for _, ch := range []struct {
		path string
		c    Channel
		ok   []string
	}{{"notify.slack.format", p.Notify.Slack.Channel, []string{"", "blocks"}}, {"notify.sns.format", p.Notify.SNS, []string{"", "json", "chatbot"}}} {
		if !slices.Contains(ch.ok, ch.c.Format) {
			v.errorf(ch.path, "unknown format %q (want %s)", ch.c.Format, strings.Join(ch.ok[1:], " or "))
		}
	}
	v.approvers(&p.Notify.Slack.Approvers, knownRules)
	if p.Notify.DedupWindow.Duration < 0 {
		v.errorf("notify.dedupWindow", "must not be negative")
	}
	if w := p.Correlation.Window.Duration; w < 0 || w > MaxCorrelationWindow {
		v.errorf("correlation.window", "must be between 0 (the default, %s) and %s, got %s", DefaultCorrelationWindow, MaxCorrelationWindow, w)
	}
	if c := p.Correlation.Clusters; c < 0 || c == 1 {
		v.errorf("correlation.clusters", "must be at least 2 (0 for the default, %d), got %d", DefaultCorrelationClusters, c)
	}
	for i, id := range p.Scan.Remediate {
		switch {
		case !slices.Contains(knownRules, id):
			v.errorf(fmt.Sprintf("scan.remediate[%d]", i), "unknown rule ID %q (see `eksguard rules`)", id)
		case len(p.Principals.Admins) == 0 && (id == "cluster-admin-granted" || id == "privileged-group-granted"):
			v.errorf(fmt.Sprintf("scan.remediate[%d]", i), "%s cannot remediate while principals.admins is empty: it would remove every admin grant, break-glass roles included", id)
		}
	}
	if p.Remediation.MaxPerResourcePerHour < 0 {
		v.errorf("remediation.maxPerResourcePerHour", "must not be negative")
	}
}

// rules checks a rules: block (at path) against the catalogue.
func (v *validator) rules(path string, rules map[string]RuleConfig, knownRules []string) {
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rc := rules[id]
		if !slices.Contains(knownRules, id) {
			v.errorf(path+"."+id, "unknown rule ID %q (see `eksguard rules`)", id)
			continue
		}
		if rc.Mode != "" {
			v.mode(path+"."+id+".mode", rc.Mode)
		}
		for i, a := range rc.Allow {
			if strings.HasPrefix(a, "arn:") && !arnPatternRE.MatchString(a) {
				v.errorf(fmt.Sprintf("%s.%s.allow[%d]", path, id, i), "malformed ARN pattern %q", a)
			}
		}
	}
}

// adminsForRemediation: remediating admin grants with no admins listed
// would strip every admin, break-glass roles included. p is the policy as
// it applies (an override's, at prefix "overrides[i].", or the base one).
func (v *validator) adminsForRemediation(prefix string, p *Policy, knownRules []string) {
	if len(p.Principals.Admins) > 0 {
		return
	}
	for _, id := range []string{"cluster-admin-granted", "privileged-group-granted"} {
		mode := p.Defaults.Mode
		if rc, ok := p.Rules[id]; ok && rc.Mode != "" {
			mode = rc.Mode
		}
		if mode == finding.ModeRemediate && slices.Contains(knownRules, id) {
			path := prefix + "rules." + id + ".mode"
			if rc, ok := p.Rules[id]; !ok || rc.Mode == "" {
				path = "defaults.mode"
			}
			v.errorf(path, "%s cannot remediate while principals.admins is empty: it would remove every admin grant, break-glass roles included", id)
		}
	}
}

func (v *validator) mode(path string, m finding.Mode) {
	if m == "" {
		return
	}
	if _, err := finding.ParseMode(string(m)); err != nil {
		v.errorf(path, "%v", err)
	}
}

func (v *validator) arnPatterns(path string, patterns []string) {
	for i, a := range patterns {
		if !arnPatternRE.MatchString(a) {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "malformed ARN pattern %q (want arn:aws:iam::ACCOUNT:role/NAME, globs allowed)", a)
		}
	}
}

func (v *validator) roleNames(path string, patterns []string) {
	for i, r := range patterns {
		if strings.HasPrefix(r, "arn:") || !roleNameRE.MatchString(r) {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not a role-name pattern (a role name, globs allowed, not an ARN)", r)
		}
	}
}
