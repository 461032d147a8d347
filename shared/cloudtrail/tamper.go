package cloudtrail

import (
	"slices"
	"strings"
)

// The request parameters of the calls that blind eksguard: CloudTrail trail
// changes and changes to eksguard's own EventBridge rules, functions, topic,
// table and kill switch. Shapes follow the services' API references, with
// CloudTrail's lower-camel-case member names.

// TrailParams are the parameters of StopLogging and DeleteTrail:
// the trail's name or ARN.
type TrailParams struct {
	Name string `json:"name"`
}

// TrailName is the trail's name, whether the call gave a name or an ARN.
func TrailName(nameOrARN string) string {
	if i := strings.Index(nameOrARN, ":trail/"); i >= 0 {
		return nameOrARN[i+len(":trail/"):]
	}
	return nameOrARN
}

// UpdateTrailParams are the parameters of UpdateTrail. Nil pointers mean the
// call left the setting as it was.
type UpdateTrailParams struct {
	Name                       string `json:"name"`
	IsMultiRegionTrail         *Bool  `json:"isMultiRegionTrail"`
	IncludeGlobalServiceEvents *Bool  `json:"includeGlobalServiceEvents"`
}

// EventSelector is a classic CloudTrail event selector.
type EventSelector struct {
	// ReadWriteType is ReadOnly, WriteOnly or All (the default).
	ReadWriteType string `json:"readWriteType"`
	// IncludeManagementEvents defaults to true.
	IncludeManagementEvents *Bool `json:"includeManagementEvents"`
	// ExcludeManagementEventSources lists event sources left out.
	ExcludeManagementEventSources []string `json:"excludeManagementEventSources"`
}

// AdvancedEventSelector is an advanced event selector: its field selectors
// must all match for an event to be logged.
type AdvancedEventSelector struct {
	Name           string                  `json:"name"`
	FieldSelectors []AdvancedFieldSelector `json:"fieldSelectors"`
}

// AdvancedFieldSelector is one condition on one field of an event.
type AdvancedFieldSelector struct {
	Field         string   `json:"field"`
	Equals        []string `json:"equals"`
	NotEquals     []string `json:"notEquals"`
	StartsWith    []string `json:"startsWith"`
	NotStartsWith []string `json:"notStartsWith"`
	EndsWith      []string `json:"endsWith"`
	NotEndsWith   []string `json:"notEndsWith"`
}

// EventSelectorsParams are the parameters of PutEventSelectors: classic or
// advanced selectors (one call holds one kind).
type EventSelectorsParams struct {
	TrailName              string                  `json:"trailName"`
	EventSelectors         []EventSelector         `json:"eventSelectors"`
	AdvancedEventSelectors []AdvancedEventSelector `json:"advancedEventSelectors"`
}

// EventBridgeRuleParams are the parameters of DisableRule, DeleteRule and
// PutRule.
type EventBridgeRuleParams struct {
	Name         string `json:"name"`
	EventBusName string `json:"eventBusName"`
	State        string `json:"state"`
}

// RemoveTargetsParams are the parameters of RemoveTargets.
type RemoveTargetsParams struct {
	Rule         string   `json:"rule"`
	EventBusName string   `json:"eventBusName"`
	IDs          []string `json:"ids"`
}

// EventBusPermissionParams are the parameters of PutPermission and
// RemovePermission, which change an event bus's resource policy (the
// central bus of an organization deployment).
type EventBusPermissionParams struct {
	// EventBusName is a name or an ARN; empty is the account's default bus.
	EventBusName         string `json:"eventBusName"`
	StatementID          string `json:"statementId"`
	Action               string `json:"action"`
	Principal            string `json:"principal"`
	Policy               string `json:"policy"`
	RemoveAllPermissions Bool   `json:"removeAllPermissions"`
}

// Bus is the event bus's name, its ARN's last part when given an ARN.
func (p *EventBusPermissionParams) Bus() string {
	if i := strings.LastIndex(p.EventBusName, ":event-bus/"); i >= 0 {
		return p.EventBusName[i+len(":event-bus/"):]
	}
	return p.EventBusName
}

// SubscriptionFilterParams are the parameters of DeleteSubscriptionFilter.
type SubscriptionFilterParams struct {
	LogGroupName string `json:"logGroupName"`
	FilterName   string `json:"filterName"`
}

// DestinationParams are the parameters of DeleteDestination and
// PutDestinationPolicy (a CloudWatch Logs destination: in organization
// mode, where member accounts' audit logs enter the central account).
type DestinationParams struct {
	DestinationName string `json:"destinationName"`
	AccessPolicy    string `json:"accessPolicy"`
}

// FunctionParams are the parameters of the Lambda calls on one function
// (UpdateFunctionConfiguration, UpdateFunctionCode, DeleteFunction,
// PutFunctionConcurrency).
type FunctionParams struct {
	// FunctionName is a name, an ARN or a partial ARN, maybe with a qualifier.
	FunctionName                 string `json:"functionName"`
	ReservedConcurrentExecutions *int   `json:"reservedConcurrentExecutions"`
}

// EventSourceMappingParams are the parameters of DeleteEventSourceMapping
// (CloudTrail event name DeleteEventSourceMapping20150331): only the
// mapping's ID. Which function and queue it joined is in the response
// (EventSourceMappingResponse).
type EventSourceMappingParams struct {
	UUID string `json:"uUID"`
}

// EventSourceMappingResponse is the part of DeleteEventSourceMapping's
// responseElements that names what the mapping joined.
type EventSourceMappingResponse struct {
	FunctionARN    string `json:"functionArn"`
	EventSourceARN string `json:"eventSourceArn"`
}

// Function is the function's name without ARN prefix or qualifier.
func (p *FunctionParams) Function() string {
	name := p.FunctionName
	if i := strings.Index(name, "function:"); i >= 0 {
		name = name[i+len("function:"):]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}

// TopicParams are the parameters of DeleteTopic and SetTopicAttributes.
type TopicParams struct {
	TopicARN       string `json:"topicArn"`
	AttributeName  string `json:"attributeName"`
	AttributeValue string `json:"attributeValue"`
}

// UnsubscribeParams are the parameters of Unsubscribe.
type UnsubscribeParams struct {
	SubscriptionARN string `json:"subscriptionArn"`
}

// TopicName is the topic of an SNS topic or subscription ARN
// (arn:aws:sns:region:account:topic[:subscription-id]).
func TopicName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return arn
	}
	return parts[5]
}

// TableParams are the parameters of DeleteTable.
type TableParams struct {
	// TableName is a name or an ARN.
	TableName string `json:"tableName"`
}

// Table is the table's name.
func (p *TableParams) Table() string {
	if i := strings.Index(p.TableName, ":table/"); i >= 0 {
		return p.TableName[i+len(":table/"):]
	}
	return p.TableName
}

// ParameterParams are the parameters of PutParameter and DeleteParameter.
// CloudTrail may hide the value (HiddenValue).
type ParameterParams struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Type      string `json:"type"`
	Overwrite *Bool  `json:"overwrite"`
}

// HiddenValue is what CloudTrail records in place of a parameter value it
// does not log.
const HiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS"

// tamperDecoders are the decoders of the calls that blind eksguard; they are
// looked up after paramDecoders (decoderFor).
var tamperDecoders = map[eventKey]func([]byte) (any, error){
	{"cloudtrail.amazonaws.com", "StopLogging"}:                       decodeInto[TrailParams],
	{"cloudtrail.amazonaws.com", "DeleteTrail"}:                       decodeInto[TrailParams],
	{"cloudtrail.amazonaws.com", "UpdateTrail"}:                       decodeInto[UpdateTrailParams],
	{"cloudtrail.amazonaws.com", "PutEventSelectors"}:                 decodeInto[EventSelectorsParams],
	{"events.amazonaws.com", "DisableRule"}:                           decodeInto[EventBridgeRuleParams],
	{"events.amazonaws.com", "DeleteRule"}:                            decodeInto[EventBridgeRuleParams],
	{"events.amazonaws.com", "PutRule"}:                               decodeInto[EventBridgeRuleParams],
	{"events.amazonaws.com", "RemoveTargets"}:                         decodeInto[RemoveTargetsParams],
	{"logs.amazonaws.com", "DeleteSubscriptionFilter"}:                decodeInto[SubscriptionFilterParams],
	{"logs.amazonaws.com", "DeleteDestination"}:                       decodeInto[DestinationParams],
	{"logs.amazonaws.com", "PutDestinationPolicy"}:                    decodeInto[DestinationParams],
	{"events.amazonaws.com", "PutPermission"}:                         decodeInto[EventBusPermissionParams],
	{"events.amazonaws.com", "RemovePermission"}:                      decodeInto[EventBusPermissionParams],
	{"lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"}: decodeInto[FunctionParams],
	{"lambda.amazonaws.com", "UpdateFunctionCode20150331v2"}:          decodeInto[FunctionParams],
	{"lambda.amazonaws.com", "DeleteFunction20150331"}:                decodeInto[FunctionParams],
	{"lambda.amazonaws.com", "PutFunctionConcurrency20171031"}:        decodeInto[FunctionParams],
	{"lambda.amazonaws.com", "DeleteEventSourceMapping20150331"}:      decodeInto[EventSourceMappingParams],
	{"sns.amazonaws.com", "DeleteTopic"}:                              decodeInto[TopicParams],
	{"sns.amazonaws.com", "SetTopicAttributes"}:                       decodeInto[TopicParams],
	{"sns.amazonaws.com", "Unsubscribe"}:                              decodeInto[UnsubscribeParams],
	{"dynamodb.amazonaws.com", "DeleteTable"}:                         decodeInto[TableParams],
	{"ssm.amazonaws.com", "PutParameter"}:                             decodeInto[ParameterParams],
	{"ssm.amazonaws.com", "DeleteParameter"}:                          decodeInto[ParameterParams],
}

// decoderFor finds the decoder of an event's request parameters.
func decoderFor(eventSource, eventName string) (func([]byte) (any, error), bool) {
	k := eventKey{eventSource, eventName}
	if dec, ok := paramDecoders[k]; ok {
		return dec, true
	}
	dec, ok := tamperDecoders[k]
	return dec, ok
}

// SelectsManagementWrites reports whether classic selectors still log
// management write events (the default of a selector is All, management
// events included).
func SelectsManagementWrites(sel []EventSelector) bool {
	for _, s := range sel {
		if s.IncludeManagementEvents != nil && !bool(*s.IncludeManagementEvents) {
			continue
		}
		if strings.EqualFold(s.ReadWriteType, "ReadOnly") {
			continue
		}
		return true
	}
	return false
}

// SelectsAdvancedManagementWrites reports whether advanced selectors still
// log management write events: some selector takes the Management category
// and does not limit readOnly to true. (For management events CloudTrail
// allows only eventCategory, readOnly and eventSource NotEquals conditions.)
func SelectsAdvancedManagementWrites(sel []AdvancedEventSelector) bool {
	for _, s := range sel {
		management, writes := false, true
		for _, f := range s.FieldSelectors {
			switch f.Field {
			case "eventCategory":
				management = slices.Contains(f.Equals, "Management")
			case "readOnly":
				if slices.Contains(f.Equals, "true") && !slices.Contains(f.Equals, "false") ||
					slices.Contains(f.NotEquals, "false") {
					writes = false
				}
			}
		}
		if management && writes {
			return true
		}
	}
	return false
}
