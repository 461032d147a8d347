package cloudtrail

// The fast path of DecodeRecord and DecodeEnvelope (see scanner). Each
// decoder mirrors the encoding/json tags of its type; decode_test.go checks
// both paths give the same Records on the samples and on edge cases.

var recordKeys = []string{"eventVersion", "eventID", "eventTime", "eventSource", "eventName", "awsRegion",
	"recipientAccountId", "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "readOnly", "userIdentity",
	"sessionCredentialFromConsole", "requestParameters", "responseElements"}

// fastRecord decodes a record from a copy of its text (the decoded
// strings share it). params is the text of requestParameters, for
// fastParams.
func fastRecord(text string) (r *Record, params string, ok bool) {
	s := &scanner{s: text}
	r = new(Record)
	var seen uint32
	ok = s.object(0, func(key string) bool {
		switch key {
		case "eventVersion":
			return once(&seen, 1<<0) && s.string(&r.EventVersion)
		case "eventID":
			return once(&seen, 1<<1) && s.string(&r.EventID)
		case "eventTime":
			return once(&seen, 1<<2) && s.timestamp(&r.EventTime)
		case "eventSource":
			return once(&seen, 1<<3) && s.string(&r.EventSource)
		case "eventName":
			return once(&seen, 1<<4) && s.string(&r.EventName)
		case "awsRegion":
			return once(&seen, 1<<5) && s.string(&r.AWSRegion)
		case "recipientAccountId":
			return once(&seen, 1<<6) && s.string(&r.RecipientAccountID)
		case "sourceIPAddress":
			return once(&seen, 1<<7) && s.string(&r.SourceIPAddress)
		case "userAgent":
			return once(&seen, 1<<8) && s.string(&r.UserAgent)
		case "errorCode":
			return once(&seen, 1<<9) && s.string(&r.ErrorCode)
		case "errorMessage":
			return once(&seen, 1<<10) && s.string(&r.ErrorMessage)
		case "readOnly":
			return once(&seen, 1<<11) && s.boolean(&r.ReadOnly)
		case "userIdentity":
			return once(&seen, 1<<12) && s.identity(&r.UserIdentity)
		case "sessionCredentialFromConsole":
			return once(&seen, 1<<13) && s.boolean(&r.SessionCredentialFromConsole)
		case "requestParameters":
			if !once(&seen, 1<<14) {
				return false
			}
			v, ok := s.raw(1)
			r.RequestParameters, params = []byte(v), v
			return ok
		case "responseElements":
			if !once(&seen, 1<<15) {
				return false
			}
			v, ok := s.raw(1)
			r.ResponseElements = []byte(v)
			return ok
		}
		return !folds(key, recordKeys) && s.skip(1)
	})
	if !ok || !s.end() {
		return nil, "", false
	}
	return r, params, true
}

var identityKeys = []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy", "sessionContext"}

func (s *scanner) identity(id *Identity) bool {
	if s.null() { // a struct ignores null
		return true
	}
	var seen uint32
	return s.object(1, func(key string) bool {
		switch key {
		case "type":
			return once(&seen, 1<<0) && s.string(&id.Type)
		case "principalId":
			return once(&seen, 1<<1) && s.string(&id.PrincipalID)
		case "arn":
			return once(&seen, 1<<2) && s.string(&id.ARN)
		case "accountId":
			return once(&seen, 1<<3) && s.string(&id.AccountID)
		case "accessKeyId":
			return once(&seen, 1<<4) && s.string(&id.AccessKeyID)
		case "userName":
			return once(&seen, 1<<5) && s.string(&id.UserName)
		case "invokedBy":
			return once(&seen, 1<<6) && s.string(&id.InvokedBy)
		case "sessionContext":
			if !once(&seen, 1<<7) {
				return false
			}
			if s.null() {
				id.SessionContext = nil
				return true
			}
			id.SessionContext = new(SessionContext)
			return s.sessionContext(id.SessionContext)
		}
		return !folds(key, identityKeys) && s.skip(2)
	})
}

var (
	sessionKeys    = []string{"sessionIssuer", "attributes"}
	issuerKeys     = []string{"type", "principalId", "arn", "accountId", "userName"}
	attributesKeys = []string{"creationDate", "mfaAuthenticated"}
)

func (s *scanner) sessionContext(sc *SessionContext) bool {
	var seen uint32
	return s.object(2, func(key string) bool {
		switch key {
		case "sessionIssuer":
			if !once(&seen, 1<<0) {
				return false
			}
			if s.null() {
				return true
			}
			is := &sc.SessionIssuer
			var seen uint32
			return s.object(3, func(key string) bool {
				switch key {
				case "type":
					return once(&seen, 1<<0) && s.string(&is.Type)
				case "principalId":
					return once(&seen, 1<<1) && s.string(&is.PrincipalID)
				case "arn":
					return once(&seen, 1<<2) && s.string(&is.ARN)
				case "accountId":
					return once(&seen, 1<<3) && s.string(&is.AccountID)
				case "userName":
					return once(&seen, 1<<4) && s.string(&is.UserName)
				}
				return !folds(key, issuerKeys) && s.skip(4)
			})
		case "attributes":
			if !once(&seen, 1<<1) {
				return false
			}
			if s.null() {
				return true
			}
			at := &sc.Attributes
			var seen uint32
			return s.object(3, func(key string) bool {
				switch key {
				case "creationDate":
					return once(&seen, 1<<0) && s.timestamp(&at.CreationDate)
				case "mfaAuthenticated":
					return once(&seen, 1<<1) && s.boolean(&at.MFAAuthenticated)
				}
				return !folds(key, attributesKeys) && s.skip(4)
			})
		}
		return !folds(key, sessionKeys) && s.skip(3)
	})
}

var envelopeKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

// fastEnvelope decodes an EventBridge envelope from a copy of its text.
// detail is the text of the detail value (Detail stays nil: DecodeEnvelope
// decodes the record from detail directly).
func fastEnvelope(text string) (env *Envelope, detail string, ok bool) {
	s := &scanner{s: text}
	env = new(Envelope)
	var seen uint32
	ok = s.object(0, func(key string) bool {
		switch key {
		case "version":
			return once(&seen, 1<<0) && s.string(&env.Version)
		case "id":
			return once(&seen, 1<<1) && s.string(&env.ID)
		case "detail-type":
			return once(&seen, 1<<2) && s.string(&env.DetailType)
		case "source":
			return once(&seen, 1<<3) && s.string(&env.Source)
		case "account":
			return once(&seen, 1<<4) && s.string(&env.Account)
		case "time":
			return once(&seen, 1<<5) && s.timestamp(&env.Time)
		case "region":
			return once(&seen, 1<<6) && s.string(&env.Region)
		case "resources":
			return once(&seen, 1<<7) && s.strings(&env.Resources)
		case "detail":
			if !once(&seen, 1<<8) {
				return false
			}
			var ok bool
			detail, ok = s.raw(1)
			return ok
		}
		return !folds(key, envelopeKeys) && s.skip(1)
	})
	if !ok || !s.end() {
		return nil, "", false
	}
	return env, detail, true
}
