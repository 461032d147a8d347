package slackaction

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The interaction types eksguard handles.
const (
	TypeBlockActions   = "block_actions"
	TypeViewSubmission = "view_submission"
)

// Interaction is the part of Slack's interaction payload eksguard reads.
type Interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	TriggerID   string   `json:"trigger_id"`
	ResponseURL string   `json:"response_url"`
	Actions     []Action `json:"actions"`
	View        *View    `json:"view"`
}

// Action is one clicked element.
type Action struct {
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Value    string `json:"value"`
}

// View is a submitted modal.
type View struct {
	ID              string `json:"id"`
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
	State           struct {
		Values map[string]map[string]StateValue `json:"values"`
	} `json:"state"`
}

// StateValue is an input's value in a submitted modal.
type StateValue struct {
	Type           string `json:"type"`
	Value          string `json:"value"`
	SelectedOption *struct {
		Value string `json:"value"`
	} `json:"selected_option"`
}

// Value is the input's text or selected option.
func (s StateValue) String() string {
	if s.SelectedOption != nil {
		return s.SelectedOption.Value
	}
	return s.Value
}

// maxBody bounds what is read: Slack's payloads are a few kilobytes.
const maxBody = 64 << 10

// ParsePayload reads an interaction request's body: form-encoded, its
// payload field the JSON. It refuses a body without one, an interaction of
// another type, one without a user, a block action without an action, and
// a view submission without its view.
func ParsePayload(body []byte) (*Interaction, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("parse interaction: body of %d bytes is larger than %d", len(body), maxBody)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parse interaction: body is not form-encoded: %w", err)
	}
	raw := form.Get("payload")
	if raw == "" {
		return nil, errors.New("parse interaction: no payload field")
	}
	var in Interaction
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("parse interaction: payload: %w", err)
	}
	if in.User.ID == "" {
		return nil, errors.New("parse interaction: payload names no user.id")
	}
	switch in.Type {
	case TypeBlockActions:
		if len(in.Actions) == 0 || in.Actions[0].ActionID == "" {
			return nil, errors.New("parse interaction: block_actions without an action")
		}
	case TypeViewSubmission:
		if in.View == nil || in.View.CallbackID == "" {
			return nil, errors.New("parse interaction: view_submission without a view callback_id")
		}
	default:
		return nil, fmt.Errorf("parse interaction: type %q is not handled (want block_actions or view_submission)", in.Type)
	}
	return &in, nil
}
