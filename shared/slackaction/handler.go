package slackaction

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/slackalert"
	"github.com/eksguard/eksguard/shared/slackref"
	"github.com/eksguard/eksguard/shared/suppress"
)

// RuleActionRefused is the low finding raised when someone who is not an
// approver clicks a button. Like remediation-suppressed it is not a
// catalogue rule.
const RuleActionRefused = "slack-action-refused"

// CallbackExpectedChange is the Expected change modal's callback ID.
const CallbackExpectedChange = "eksguard_expected_change"

// The Expected change modal's inputs.
const (
	blockDuration  = "duration"
	blockReason    = "reason"
	actionDuration = "duration"
	actionReason   = "reason"
)

// Durations are the choices of the Expected change modal.
var Durations = []struct {
	Label string
	D     time.Duration
}{{"1 hour", time.Hour}, {"4 hours", 4 * time.Hour}, {"1 day", 24 * time.Hour}, {"3 days", 72 * time.Hour}, {"7 days", 168 * time.Hour}}

// Secret is the Slack app's secret: the signing secret and, for the
// Expected change modal, the bot token.
type Secret struct {
	SigningSecret []byte
	BotToken      string
}

// Approver runs an approved fix (guard.Guard).
type Approver interface {
	Approve(ctx context.Context, f finding.Finding, key, approver string) (guard.Approval, error)
}

// Findings reads the findings buttons refer to (slackref.Store).
type Findings interface {
	Get(ctx context.Context, ref string) (*finding.Finding, error)
}

// Suppressor records expected changes (suppress.Store).
type Suppressor interface {
	Put(ctx context.Context, s suppress.Suppression) error
}

// Publisher publishes a finding (notify.SNSPublisher).
type Publisher interface {
	Publish(ctx context.Context, f *finding.Finding) error
}

// NonceWriter is the part of the DynamoDB client the replay check uses.
type NonceWriter interface {
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Handler handles the function URL's requests. Every field is required
// but Log, Now, HTTP, SlackAPI and ResponseURLPrefix.
type Handler struct {
	Policy *policy.Policy
	// Secret reads the Slack app's secret (cached by the caller).
	Secret    func(ctx context.Context) (Secret, error)
	Nonces    NonceWriter
	Table     string
	Findings  Findings
	Approver  Approver
	Suppress  Suppressor
	Publisher Publisher
	// HTTP posts to response URLs and Slack's API (http.DefaultClient when nil).
	HTTP *http.Client
	// SlackAPI is Slack's Web API base URL (https://slack.com/api when empty).
	SlackAPI string
	// ResponseURLPrefix is what a response_url must start with
	// (https://hooks.slack.com/ when empty).
	ResponseURLPrefix string
	Log               *slog.Logger
	Now               func() time.Time
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) http() *http.Client {
	if h.HTTP != nil {
		return h.HTTP
	}
	return http.DefaultClient
}

func reply(status int, body string) events.LambdaFunctionURLResponse {
	r := events.LambdaFunctionURLResponse{StatusCode: status, Body: body}
	if body != "" {
		r.Headers = map[string]string{"Content-Type": "application/json"}
		if !strings.HasPrefix(body, "{") {
			r.Headers["Content-Type"] = "text/plain; charset=utf-8"
		}
	}
	return r
}

// Handle is the Lambda handler (function URL, payload format 2.0: header
// names lower-case, the body base64-encoded when isBase64Encoded). It
// answers 401 to a request whose signature is missing, wrong, stale or
// seen before, 400 to one it cannot read, and 200 once it has acted; what
// it did is told in Slack through response_url.
func (h *Handler) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	if req.RequestContext.HTTP.Method != "" && req.RequestContext.HTTP.Method != http.MethodPost {
		return reply(http.StatusMethodNotAllowed, "POST only"), nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return reply(http.StatusBadRequest, "body is not base64"), nil
		}
		body = b
	}
	ts, sig := req.Headers["x-slack-request-timestamp"], req.Headers["x-slack-signature"]
	if ts == "" || sig == "" {
		h.log().WarnContext(ctx, "unsigned request refused", "sourceIp", req.RequestContext.HTTP.SourceIP)
		return reply(http.StatusUnauthorized, "unsigned"), nil
	}
	secret, err := h.Secret(ctx)
	if err != nil || len(secret.SigningSecret) == 0 {
		h.log().ErrorContext(ctx, "cannot read the Slack signing secret; requests cannot be verified", "error", err)
		return reply(http.StatusUnauthorized, "cannot verify"), nil
	}
	if err := Verify(secret.SigningSecret, ts, sig, body, h.now()); err != nil {
		h.log().WarnContext(ctx, "request refused", "reason", err.Error(), "sourceIp", req.RequestContext.HTTP.SourceIP)
		return reply(http.StatusUnauthorized, "bad signature"), nil
	}
	if fresh, err := h.firstSeen(ctx, sig); err != nil {
		h.log().ErrorContext(ctx, "cannot record the request's nonce", "error", err)
		return reply(http.StatusInternalServerError, "try again"), nil
	} else if !fresh {
		h.log().WarnContext(ctx, "replayed request refused", "sourceIp", req.RequestContext.HTTP.SourceIP)
		return reply(http.StatusUnauthorized, "replayed"), nil
	}
	in, err := ParsePayload(body)
	if err != nil {
		h.log().WarnContext(ctx, "cannot read the interaction", "error", err)
		return reply(http.StatusBadRequest, "bad payload"), nil
	}
	log := h.log().With("slackUser", in.User.ID, "type", in.Type)
	switch in.Type {
	case TypeBlockActions:
		return h.blockAction(ctx, log, in, secret), nil
	default:
		return h.viewSubmission(ctx, log, in), nil
	}
}

// firstSeen records the request's signature as a nonce (a conditional put
// that expires with the timestamp window) and reports whether it was new.
func (h *Handler) firstSeen(ctx context.Context, sig string) (bool, error) {
	sum := sha256.Sum256([]byte(sig))
	_, err := h.Nonces.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(h.Table),
		Item: map[string]types.AttributeValue{
			"pk":        &types.AttributeValueMemberS{Value: "slacknonce#" + hex.EncodeToString(sum[:])},
			"expiresAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(h.now().Add(2*MaxAge).Unix(), 10)},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record nonce in table %s: %w", h.Table, err)
	}
	return true, nil
}

func (h *Handler) blockAction(ctx context.Context, log *slog.Logger, in *Interaction, secret Secret) events.LambdaFunctionURLResponse {
	act := in.Actions[0]
	if act.ActionID != slackalert.ActionApplyFix && act.ActionID != slackalert.ActionExpectedChange {
		log.InfoContext(ctx, "action of another element ignored", "actionId", act.ActionID)
		return reply(http.StatusOK, "")
	}
	log = log.With("action", act.ActionID)
	f, ok := h.finding(ctx, log, act.Value, in.ResponseURL)
	if !ok {
		return reply(http.StatusOK, "")
	}
	log = log.With("rule", f.Rule, "resource", f.Key(), "eventID", f.EventID)
	if !h.Policy.MayApprove(in.User.ID, f.Rule, f.Severity) {
		h.refuse(ctx, log, in, f, act.ActionID)
		h.respond(ctx, log, in.ResponseURL, ephemeral(":no_entry: You are not allowed to do this: only the approvers in the eksguard policy (notify.slack.approvers) may. Nothing was changed."))
		return reply(http.StatusOK, "")
	}
	if act.ActionID == slackalert.ActionExpectedChange {
		h.openExpectedChange(ctx, log, in, act.Value, secret)
		return reply(http.StatusOK, "")
	}
	a, err := h.Approver.Approve(ctx, *f, act.Value, in.User.ID)
	switch {
	case errors.Is(err, guard.ErrApprovalBusy):
		h.respond(ctx, log, in.ResponseURL, ephemeral(":hourglass: This fix is being applied right now (another click); its outcome will replace this message."))
		return reply(http.StatusOK, "")
	case err != nil && a.Finding.Outcome == nil:
		log.ErrorContext(ctx, "approved fix failed", "error", err)
		h.respond(ctx, log, in.ResponseURL, ephemeral(":warning: The fix could not be applied: "+notify.Escape(err.Error())))
		return reply(http.StatusOK, "")
	case err != nil:
		log.ErrorContext(ctx, "approved fix ran, but its outcome could not be published", "error", err)
	}
	if a.Repeat {
		log.InfoContext(ctx, "fix approved again: already applied, not run again")
		h.respond(ctx, log, in.ResponseURL, ephemeral(":information_source: This fix was already approved and applied once; nothing was run again."))
		return reply(http.StatusOK, "")
	}
	log.InfoContext(ctx, "approved fix applied", "outcome", a.Finding.Outcome.Status, "approvedBy", in.User.ID)
	msg := slackalert.SlackMessage(&a.Finding, nil)
	msg.Blocks.BlockSet = append(msg.Blocks.BlockSet, slack.NewContextBlock("eksguard_approved",
		slack.NewTextBlockObject(slack.MarkdownType, ":white_check_mark: Fix approved in Slack by <@"+in.User.ID+">: "+notify.Escape(string(a.Finding.Outcome.Status)), false, false)))
	h.respond(ctx, log, in.ResponseURL, replaceOriginal(msg))
	return reply(http.StatusOK, "")
}

// finding reads the finding a button refers to; when it cannot, the clicker
// is told so.
func (h *Handler) finding(ctx context.Context, log *slog.Logger, ref, responseURL string) (*finding.Finding, bool) {
	f, err := h.Findings.Get(ctx, ref)
	if errors.Is(err, slackref.ErrNotFound) {
		h.respond(ctx, log, responseURL, ephemeral(":hourglass: These buttons have expired; nothing was changed. Apply the fix by hand with the command in the message."))
		return nil, false
	}
	if err != nil {
		log.ErrorContext(ctx, "cannot read the finding of the button", "error", err)
		h.respond(ctx, log, responseURL, ephemeral(":warning: eksguard could not read this finding; nothing was changed. Try again in a minute."))
		return nil, false
	}
	return f, true
}

// refuse logs and publishes, at low severity, a click by someone who may not.
func (h *Handler) refuse(ctx context.Context, log *slog.Logger, in *Interaction, f *finding.Finding, what string) {
	log.WarnContext(ctx, "Slack action refused: not an approver", "slackUsername", in.User.Username)
	r := finding.Finding{
		Rule:      RuleActionRefused,
		Severity:  finding.Low,
		Title:     "Slack button clicked by someone who is not an approver",
		Summary:   fmt.Sprintf("Slack user %s (%s) clicked %s on finding %s (%s) and is not in notify.slack.approvers; nothing was changed", in.User.ID, in.User.Username, what, f.Rule, notify.Resource(f)),
		EventID:   "slack-" + in.User.ID + "-" + strconv.FormatInt(h.now().UnixNano(), 36),
		EventName: what,
		EventTime: h.now().UTC().Format(time.RFC3339),
		Account:   f.Account, Region: f.Region, Cluster: f.Cluster, Principal: f.Principal, Resource: f.Resource,
		Actor: finding.Actor{ARN: "slack:" + in.Team.ID + ":" + in.User.ID, Type: "SlackUser"},
		Mode:  finding.ModeNotify,
	}
	if err := h.Publisher.Publish(ctx, &r); err != nil {
		log.ErrorContext(ctx, "cannot publish the refused Slack action", "error", err)
	}
}

// expectedMeta is what the Expected change modal carries between the click
// and the submission.
type expectedMeta struct {
	Ref         string `json:"ref"`
	ResponseURL string `json:"responseUrl"`
}

func (h *Handler) openExpectedChange(ctx context.Context, log *slog.Logger, in *Interaction, ref string, secret Secret) {
	if secret.BotToken == "" {
		h.respond(ctx, log, in.ResponseURL, ephemeral(":warning: Expected change needs the Slack app's bot token in eksguard's Slack app secret (docs/slack-app.md); nothing was changed."))
		return
	}
	meta, _ := json.Marshal(expectedMeta{Ref: ref, ResponseURL: in.ResponseURL})
	var opts []*slack.OptionBlockObject
	for _, d := range Durations {
		opts = append(opts, slack.NewOptionBlockObject(d.D.String(), slack.NewTextBlockObject(slack.PlainTextType, d.Label, false, false), nil))
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "How long", false, false), actionDuration, opts...)
	sel.InitialOption = opts[2]
	reason := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "Why this change is expected", false, false), actionReason)
	reason.MaxLength = suppress.MaxReason
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackExpectedChange,
		PrivateMetadata: string(meta),
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Expected change", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Suppress", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "This rule's findings on this resource will be logged, not alerted, for the time you choose.", false, false), nil, nil),
			slack.NewInputBlock(blockDuration, slack.NewTextBlockObject(slack.PlainTextType, "For", false, false), nil, sel),
			slack.NewInputBlock(blockReason, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil, reason),
		}},
	}
	body, _ := json.Marshal(map[string]any{"trigger_id": in.TriggerID, "view": view})
	api := h.SlackAPI
	if api == "" {
		api = "https://slack.com/api"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(api, "/")+"/views.open", bytes.NewReader(body))
	if err != nil {
		log.ErrorContext(ctx, "cannot build the views.open request", "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+secret.BotToken)
	resp, err := h.http().Do(req)
	if err != nil {
		log.ErrorContext(ctx, "cannot open the Expected change modal", "error", err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil || !out.OK {
		log.ErrorContext(ctx, "Slack refused to open the Expected change modal", "status", resp.StatusCode, "slackError", out.Error)
		h.respond(ctx, log, in.ResponseURL, ephemeral(":warning: The Expected change dialog could not be opened ("+notify.Escape(out.Error)+"); nothing was changed."))
	}
}

func (h *Handler) viewSubmission(ctx context.Context, log *slog.Logger, in *Interaction) events.LambdaFunctionURLResponse {
	if in.View.CallbackID != CallbackExpectedChange {
		log.InfoContext(ctx, "submission of another view ignored", "callbackId", in.View.CallbackID)
		return reply(http.StatusOK, "")
	}
	var meta expectedMeta
	if err := json.Unmarshal([]byte(in.View.PrivateMetadata), &meta); err != nil || !slackref.Valid(meta.Ref) {
		log.WarnContext(ctx, "Expected change submission without its finding")
		return reply(http.StatusBadRequest, "bad view")
	}
	f, ok := h.finding(ctx, log, meta.Ref, meta.ResponseURL)
	if !ok {
		return reply(http.StatusOK, "")
	}
	log = log.With("rule", f.Rule, "resource", f.Key())
	if !h.Policy.MayApprove(in.User.ID, f.Rule, f.Severity) {
		h.refuse(ctx, log, in, f, slackalert.ActionExpectedChange)
		return viewErrors(map[string]string{blockReason: "Only the approvers in the eksguard policy may state expected changes."})
	}
	values := in.View.State.Values
	why := strings.TrimSpace(values[blockReason][actionReason].String())
	d, err := time.ParseDuration(values[blockDuration][actionDuration].String())
	if why == "" {
		return viewErrors(map[string]string{blockReason: "Say why the change is expected."})
	}
	if err != nil || d <= 0 || d > suppress.MaxDuration {
		return viewErrors(map[string]string{blockDuration: "Choose one of the durations."})
	}
	sup := suppress.Suppression{Rule: f.Rule, Resource: f.Key(), Until: h.now().Add(d), Who: in.User.ID, Why: why}
	if err := h.Suppress.Put(ctx, sup); err != nil {
		log.ErrorContext(ctx, "cannot record the expected change", "error", err)
		return viewErrors(map[string]string{blockReason: "eksguard could not record this; try again."})
	}
	log.InfoContext(ctx, "expected change recorded", "until", sup.Until.Format(time.RFC3339), "by", in.User.ID, "reason", why)
	h.respond(ctx, log, meta.ResponseURL, map[string]any{
		"response_type":    "in_channel",
		"replace_original": false,
		"text": fmt.Sprintf(":zipper_mouth_face: Expected change: %s on %s is logged, not alerted, until %s UTC (<@%s>: %s)",
			f.Rule, notify.Escape(notify.Resource(f)), sup.Until.UTC().Format("2006-01-02 15:04"), in.User.ID, notify.Escape(why)),
	})
	return reply(http.StatusOK, "")
}

func viewErrors(errs map[string]string) events.LambdaFunctionURLResponse {
	b, _ := json.Marshal(map[string]any{"response_action": "errors", "errors": errs})
	return reply(http.StatusOK, string(b))
}

func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text}
}

func replaceOriginal(msg *slack.WebhookMessage) map[string]any {
	return map[string]any{"replace_original": true, "text": msg.Text, "blocks": msg.Blocks}
}

// respond posts to a response_url, which must be Slack's.
func (h *Handler) respond(ctx context.Context, log *slog.Logger, responseURL string, msg map[string]any) {
	prefix := h.ResponseURLPrefix
	if prefix == "" {
		prefix = "https://hooks.slack.com/"
	}
	if !strings.HasPrefix(responseURL, prefix) {
		log.WarnContext(ctx, "response_url is not Slack's; no reply sent")
		return
	}
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		log.ErrorContext(ctx, "cannot build the reply", "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http().Do(req)
	if err != nil {
		// The URL lets anyone post to the channel for a while: keep it out of the log.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		log.ErrorContext(ctx, "cannot reply through response_url", "error", err)
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.ErrorContext(ctx, "Slack refused the reply", "status", resp.StatusCode)
	}
}
