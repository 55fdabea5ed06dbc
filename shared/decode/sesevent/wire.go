package sesevent

// wireRecord is Record as the decoders read it: identical except that mail.headers — up to 10 KB
// of original headers that nothing in Event uses — is skipped by encoding/json instead of being
// allocated. commonHeaders (From, Subject) is still read.
type wireRecord struct {
	EventType        string    `json:"eventType,omitempty"`
	NotificationType string    `json:"notificationType,omitempty"`
	Mail             *wireMail `json:"mail"`

	Send          *struct{}         `json:"send,omitempty"`
	Reject        *Reject           `json:"reject,omitempty"`
	Bounce        *Bounce           `json:"bounce,omitempty"`
	Complaint     *Complaint        `json:"complaint,omitempty"`
	Delivery      *Delivery         `json:"delivery,omitempty"`
	Open          *Open             `json:"open,omitempty"`
	Click         *Click            `json:"click,omitempty"`
	Failure       *RenderingFailure `json:"failure,omitempty"`
	DeliveryDelay *DeliveryDelay    `json:"deliveryDelay,omitempty"`
	Subscription  *Subscription     `json:"subscription,omitempty"`
}

type wireMail struct {
	Timestamp        string              `json:"timestamp"`
	MessageID        string              `json:"messageId"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn,omitempty"`
	SendingAccountID string              `json:"sendingAccountId,omitempty"`
	Destination      []string            `json:"destination,omitempty"`
	HeadersTruncated FlexBool            `json:"headersTruncated,omitempty"`
	CommonHeaders    *CommonHeaders      `json:"commonHeaders,omitempty"`
	Tags             map[string][]string `json:"tags,omitempty"`
	SourceIP         string              `json:"sourceIp,omitempty"`
	CallerIdentity   string              `json:"callerIdentity,omitempty"`
}

// record converts to the public model (without headers).
func (w *wireRecord) record() *Record {
	r := &Record{
		EventType: w.EventType, NotificationType: w.NotificationType,
		Send: w.Send, Reject: w.Reject, Bounce: w.Bounce, Complaint: w.Complaint, Delivery: w.Delivery,
		Open: w.Open, Click: w.Click, Failure: w.Failure, DeliveryDelay: w.DeliveryDelay, Subscription: w.Subscription,
	}
	if m := w.Mail; m != nil {
		r.Mail = &Mail{
			Timestamp: m.Timestamp, MessageID: m.MessageID, Source: m.Source, SourceArn: m.SourceArn,
			SendingAccountID: m.SendingAccountID, Destination: m.Destination, HeadersTruncated: m.HeadersTruncated,
			CommonHeaders: m.CommonHeaders, Tags: m.Tags, SourceIP: m.SourceIP, CallerIdentity: m.CallerIdentity,
		}
	}
	return r
}
