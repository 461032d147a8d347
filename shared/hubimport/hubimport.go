// Package hubimport imports eksguard's findings into AWS Security Hub with
// BatchImportFindings, as the finding provider of the account's default
// product (asff documents).
//
// A batch is cut into calls of at most 100 findings (the API's limit);
// findings the response lists in FailedFindings are sent again, alone,
// up to Attempts times in all; what still fails is returned so that the
// caller's queue redelivers it and, in the end, dead-letters it.
//
// Security Hub creates a finding whose Id it does not know and updates one
// it does, when UpdatedAt is later than the stored one. A repeat of a
// finding keeps the Id, so it updates UpdatedAt and LastObservedAt; the
// table remembers each Id's CreatedAt and FirstObservedAt, which an update
// must carry unchanged.
//
// Security Hub takes a finding of an account's default product only from
// that account (the caller must be the finding's AwsAccountId). In an
// organization deployment (Org) a member account's findings are therefore
// imported through that account's remediation role into its own product,
// one batch per account and region; the organization's Security Hub
// administrator aggregates them.
package hubimport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/finding"
)

// MaxBatch is the most findings one BatchImportFindings call takes.
const MaxBatch = 100

// DefaultAttempts is how many times a finding Security Hub rejects is sent.
const DefaultAttempts = 3

// Retention is how long the table remembers a document's first
// observation: Security Hub deletes a finding 90 days after its last update.
const Retention = 90 * 24 * time.Hour

// BatchImporter is the part of the Security Hub client the importer uses.
type BatchImporter interface {
	BatchImportFindings(ctx context.Context, params *securityhub.BatchImportFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

var _ BatchImporter = (*securityhub.Client)(nil)

// ItemUpdater is the part of the DynamoDB client the importer uses.
type ItemUpdater interface {
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ ItemUpdater = (*dynamodb.Client)(nil)

// Importer imports findings. Hub, DB and Table are required.
type Importer struct {
	Hub   BatchImporter
	DB    ItemUpdater
	Table string
	// Options are the product's account and region (the central account in
	// organization mode) and the clock.
	Options asff.Options
	// Org, in an organization deployment, has the findings of member
	// accounts imported from those accounts (nil: every finding through Hub).
	Org *Org
	// Attempts is the sends of a finding Security Hub rejects
	// (DefaultAttempts when zero).
	Attempts int
	// Sleep waits between attempts (a short backoff when nil).
	Sleep func(time.Duration)
	// Log is the logger (slog.Default() when nil).
	Log *slog.Logger
}

// Org is the organization mode of the importer: a finding of another
// account than the central one is imported by that account, into its own
// default product (Security Hub takes a default-product finding only from
// the account that is its AwsAccountId); the organization's Security Hub
// administrator sees it there.
type Org struct {
	// Account is the central account, whose findings go through Hub.
	Account string
	// Regions are the member regions: a member finding of one of them is
	// imported in it, any other in the importer's region (Options.Region).
	Regions []string
	// Hub is the client of an account's role in a region (one per account
	// and region, credentials cached).
	Hub func(account, region string) BatchImporter
}

// Item is one finding to import, with the caller's key for it (the SQS
// message ID).
type Item struct {
	Key     string
	Finding *finding.Finding
}

// Error is why a finding was not imported.
type Error struct {
	Id        string
	ErrorCode string
	Message   string
}

func (e *Error) Error() string {
	if e.ErrorCode == "" {
		return fmt.Sprintf("import finding %s into Security Hub: %s", e.Id, e.Message)
	}
	return fmt.Sprintf("import finding %s into Security Hub: %s: %s", e.Id, e.ErrorCode, e.Message)
}

func (im *Importer) log() *slog.Logger {
	if im.Log != nil {
		return im.Log
	}
	return slog.Default()
}

func (im *Importer) attempts() int {
	if im.Attempts > 0 {
		return im.Attempts
	}
	return DefaultAttempts
}

func (im *Importer) sleep(attempt int) {
	d := time.Duration(attempt) * 200 * time.Millisecond
	if im.Sleep != nil {
		im.Sleep(d)
		return
	}
	time.Sleep(d)
}

func (im *Importer) now() time.Time {
	if im.Options.Now != nil {
		return im.Options.Now()
	}
	return time.Now()
}

// Import imports the items and returns, by key, those that were not
// imported and why. Several items with the same document Id (repeats in one
// batch) are sent once, as the last of them. Each finding goes to its
// product (productOf), in calls of that product's client.
func (im *Importer) Import(ctx context.Context, items []Item) map[string]error {
	failed := map[string]error{}
	keys := map[string][]string{} // product|document Id -> item keys
	var products []hubProduct
	batches := map[hubProduct]*batch{}
	for _, it := range items {
		p := im.productOf(it.Finding)
		opts := im.Options
		opts.Account, opts.Region, opts.Now = p.account, p.region, im.now
		doc := asff.From(it.Finding, opts)
		if err := im.remember(ctx, &doc); err != nil {
			im.log().ErrorContext(ctx, "cannot read or record the finding's first observation; it is retried", "id", doc.Id, "error", err)
			failed[it.Key] = err
			continue
		}
		b := batches[p]
		if b == nil {
			b = &batch{docs: map[string]types.AwsSecurityFinding{}, eventID: it.Finding.EventID}
			batches[p] = b
			products = append(products, p)
		}
		if _, seen := b.docs[doc.Id]; !seen {
			b.order = append(b.order, doc.Id)
		}
		k := p.String() + "|" + doc.Id
		keys[k] = append(keys[k], it.Key)
		b.docs[doc.Id] = SDKFinding(doc)
	}
	for _, p := range products {
		for id, e := range im.importInto(ctx, p, batches[p]) {
			for _, k := range keys[p.String()+"|"+id] {
				failed[k] = e
			}
		}
	}
	return failed
}

// hubProduct is the account and region of the Security Hub product a
// finding is imported into; empty fields mean the finding's own.
type hubProduct struct{ account, region string }

func (p hubProduct) String() string { return p.account + "/" + p.region }

// batch is what one product gets: the documents by Id, in order, and the
// event of the first (the session name of a member account's role).
type batch struct {
	order   []string
	docs    map[string]types.AwsSecurityFinding
	eventID string
}

// productOf is where a finding is imported. BatchImportFindings takes a
// finding of the default product only from the account that is its
// AwsAccountId, into that account's product in the region of the call. So
// in organization mode a member account's finding goes to that account's
// product, in the finding's region when it is a member region (the member
// role's grant covers those) or else in the importer's; the central
// account's findings, and every finding outside organization mode, go to
// Options' product.
func (im *Importer) productOf(f *finding.Finding) hubProduct {
	if o := im.Org; o != nil && f.Account != "" && f.Account != o.Account {
		region := im.Options.Region
		if slices.Contains(o.Regions, f.Region) || region == "" {
			region = f.Region
		}
		return hubProduct{account: f.Account, region: region}
	}
	return hubProduct{account: im.Options.Account, region: im.Options.Region}
}

// hubOf is the client that imports into a product.
func (im *Importer) hubOf(p hubProduct) BatchImporter {
	if im.Org == nil || p.account == "" || p.account == im.Options.Account || p.account == im.Org.Account {
		return im.Hub
	}
	return im.Org.Hub(p.account, p.region)
}

// importInto sends a product's documents, in calls of at most MaxBatch,
// sends those Security Hub rejects again up to Attempts times in all, and
// returns, by document Id, those it gave up on.
func (im *Importer) importInto(ctx context.Context, p hubProduct, b *batch) map[string]*Error {
	hub := im.hubOf(p)
	if hub != im.Hub {
		// The member role's session is named after the first finding's event.
		ctx = assume.WithEventID(ctx, b.eventID)
	}
	log := im.log().With("account", p.account, "region", p.region)
	pending := b.order
	final := map[string]*Error{} // given up: the call failed, or rejected Attempts times
	for attempt := 1; len(pending) > 0; attempt++ {
		var again []string
		errs := map[string]*Error{}
		for start := 0; start < len(pending); start += MaxBatch {
			chunk := pending[start:min(start+MaxBatch, len(pending))]
			docs := make([]types.AwsSecurityFinding, len(chunk))
			for i, id := range chunk {
				docs[i] = b.docs[id]
			}
			out, err := hub.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: docs})
			if err != nil {
				// The SDK retried the call already; in a member account the
				// error may be its role's (AssumeRole refused).
				code := errorCode(err)
				log.ErrorContext(ctx, "BatchImportFindings failed; the findings go back to the queue", "findings", len(chunk), "errorCode", code, "error", err)
				for _, id := range chunk {
					final[id] = &Error{Id: id, ErrorCode: code, Message: err.Error()}
				}
				continue
			}
			for _, ff := range out.FailedFindings {
				id := aws.ToString(ff.Id)
				if _, ok := b.docs[id]; !ok {
					continue
				}
				errs[id] = &Error{Id: id, ErrorCode: aws.ToString(ff.ErrorCode), Message: aws.ToString(ff.ErrorMessage)}
				again = append(again, id)
			}
			log.InfoContext(ctx, "findings imported into Security Hub", "attempt", attempt,
				"successCount", aws.ToInt32(out.SuccessCount), "failedCount", aws.ToInt32(out.FailedCount))
		}
		if attempt >= im.attempts() {
			for id, e := range errs {
				final[id] = e
			}
			break
		}
		if len(again) > 0 {
			log.WarnContext(ctx, "Security Hub rejected findings; sending them again", "findings", len(again), "attempt", attempt)
			im.sleep(attempt)
		}
		pending = again
	}
	for id, e := range final {
		log.ErrorContext(ctx, "finding not imported into Security Hub", "id", id, "errorCode", e.ErrorCode, "message", e.Message)
	}
	return final
}

// remember records the document's first observation in the table, or reads
// the one recorded by an earlier import, and sets CreatedAt and
// FirstObservedAt from it.
func (im *Importer) remember(ctx context.Context, doc *asff.Finding) error {
	first := doc.FirstObservedAt
	if first == "" {
		first = doc.CreatedAt
	}
	out, err := im.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(im.Table),
		Key:              map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "hub#" + doc.Id}},
		UpdateExpression: aws.String("SET #created = if_not_exists(#created, :created), #first = if_not_exists(#first, :first), #expires = :expires"),
		ExpressionAttributeNames: map[string]string{
			"#created": "createdAt", "#first": "firstObservedAt", "#expires": "expiresAt",
		},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{
			":created": &dbtypes.AttributeValueMemberS{Value: doc.CreatedAt},
			":first":   &dbtypes.AttributeValueMemberS{Value: first},
			":expires": &dbtypes.AttributeValueMemberN{Value: strconv.FormatInt(im.now().Add(Retention).Unix(), 10)},
		},
		ReturnValues: dbtypes.ReturnValueAllNew,
	})
	if err != nil {
		return fmt.Errorf("record first observation of %s in table %s: %w", doc.Id, im.Table, err)
	}
	if v, ok := out.Attributes["createdAt"].(*dbtypes.AttributeValueMemberS); ok {
		doc.CreatedAt = v.Value
	}
	if v, ok := out.Attributes["firstObservedAt"].(*dbtypes.AttributeValueMemberS); ok && doc.FirstObservedAt != "" {
		doc.FirstObservedAt = v.Value
	}
	return nil
}

func errorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// SDKFinding is an ASFF document as the Security Hub client sends it.
func SDKFinding(d asff.Finding) types.AwsSecurityFinding {
	f := types.AwsSecurityFinding{
		SchemaVersion:   aws.String(d.SchemaVersion),
		Id:              aws.String(d.Id),
		ProductArn:      aws.String(d.ProductArn),
		GeneratorId:     aws.String(d.GeneratorId),
		AwsAccountId:    aws.String(d.AwsAccountId),
		Region:          optional(d.Region),
		Types:           d.Types,
		FirstObservedAt: optional(d.FirstObservedAt),
		LastObservedAt:  optional(d.LastObservedAt),
		CreatedAt:       aws.String(d.CreatedAt),
		UpdatedAt:       aws.String(d.UpdatedAt),
		Severity:        &types.Severity{Label: types.SeverityLabel(d.Severity.Label), Original: optional(d.Severity.Original)},
		Title:           aws.String(d.Title),
		Description:     aws.String(d.Description),
		SourceUrl:       optional(d.SourceUrl),
		ProductFields:   d.ProductFields,
		RecordState:     types.RecordState(d.RecordState),
	}
	for _, r := range d.Resources {
		f.Resources = append(f.Resources, types.Resource{Type: aws.String(r.Type), Id: aws.String(r.Id),
			Partition: types.Partition(r.Partition), Region: optional(r.Region)})
	}
	if d.Remediation != nil {
		f.Remediation = &types.Remediation{Recommendation: &types.Recommendation{
			Text: optional(d.Remediation.Recommendation.Text), Url: optional(d.Remediation.Recommendation.Url)}}
	}
	if d.Compliance != nil {
		f.Compliance = &types.Compliance{Status: types.ComplianceStatus(d.Compliance.Status)}
	}
	if p := d.FindingProviderFields; p != nil {
		f.FindingProviderFields = &types.FindingProviderFields{Types: p.Types}
		if p.Severity != nil {
			f.FindingProviderFields.Severity = &types.FindingProviderSeverity{Label: types.SeverityLabel(p.Severity.Label), Original: optional(p.Severity.Original)}
		}
	}
	return f
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
