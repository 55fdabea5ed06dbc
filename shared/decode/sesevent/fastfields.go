package sesevent

import (
	"encoding/binary"
)

// The SES record's fields on the fast path: event type, mail, common headers and the per-event
// objects (bounce, complaint, delivery, …), each read into the record model.

// eventType reads eventType or notificationType: one of the known type names (as its constant),
// or "". Anything else is declined: Normalize would reject it, or the caller skips it.
func (d *fastDecoder) eventType() (string, bool) {
	b, ok := d.text()
	if !ok {
		return "", false
	}
	if len(b) == 0 {
		return "", true
	}
	switch string(b) {
	case string(TypeSend):
		return string(TypeSend), true
	case string(TypeReject):
		return string(TypeReject), true
	case string(TypeBounce):
		return string(TypeBounce), true
	case string(TypeComplaint):
		return string(TypeComplaint), true
	case string(TypeDelivery):
		return string(TypeDelivery), true
	case string(TypeOpen):
		return string(TypeOpen), true
	case string(TypeClick):
		return string(TypeClick), true
	case string(TypeRenderingFailure):
		return string(TypeRenderingFailure), true
	case string(TypeDeliveryDelay):
		return string(TypeDeliveryDelay), true
	case string(TypeSubscription):
		return string(TypeSubscription), true
	}
	return "", false
}

// record reads the top-level object. The names after "subscription" are the SNS and EventBridge
// members of the message union: a record with any of them is left to the slow path.
func (d *fastDecoder) record(f *fastRecord) bool {
	r := &f.rec
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			r.EventType, ok = d.eventType()
		case 1:
			r.NotificationType, ok = d.eventType()
		case 2:
			r.Mail, ok = &f.mail, d.mail(&f.mail, &f.common)
		case 3:
			r.Send, ok = new(struct{}), d.object(func(int) bool { return false })
		case 4:
			r.Reject = new(Reject)
			ok = d.object(func(int) bool {
				r.Reject.Reason, ok = d.str()
				return ok
			}, "reason")
		case 5:
			r.Bounce = &f.bounce
			ok = d.bounce(r.Bounce)
		case 6:
			r.Complaint = &f.complaint
			ok = d.complaint(r.Complaint)
		case 7:
			r.Delivery = &f.delivery
			ok = d.delivery(r.Delivery)
		case 8:
			r.Open = new(Open)
			ok = d.object(func(i int) bool {
				if i == 1 {
					r.Open.Timestamp, ok = d.str()
					return ok
				}
				return d.skipStr()
			}, "ipAddress", "timestamp", "userAgent")
		case 9:
			r.Click = new(Click)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					r.Click.Timestamp, ok = d.str()
					return ok
				case 4:
					_, ok = d.tags(false)
					return ok
				}
				return d.skipStr()
			}, "ipAddress", "timestamp", "userAgent", "link", "linkTags")
		case 10:
			r.Failure, ok = new(RenderingFailure), d.strObject("templateName", "errorMessage")
		case 11:
			r.DeliveryDelay = new(DeliveryDelay)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					return d.objects(d.recipient)
				case 4:
					r.DeliveryDelay.Timestamp, ok = d.str()
					return ok
				}
				return d.skipStr()
			}, "delayType", "delayedRecipients", "expirationTime", "reportingMTA", "timestamp")
		case 12:
			r.Subscription = new(Subscription)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					r.Subscription.Timestamp, ok = d.str()
					return ok
				case 3, 4:
					return d.topicPreferences()
				}
				return d.skipStr()
			}, "contactList", "timestamp", "source", "newTopicPreferences", "oldTopicPreferences")
		}
		return ok
	}, recordFields)
}

// The member names of the objects every record has, in the order SES writes them (see fieldTable).
var (
	// recordFields: the names after "subscription" are the SNS and EventBridge members of the
	// message union, declined.
	recordFields = newFieldTable(13, []string{"eventType", "notificationType", "mail", "send", "reject", "bounce", "complaint", "delivery",
		"open", "click", "failure", "deliveryDelay", "subscription",
		"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"id", "detail-type", "source", "account", "region", "time", "resources", "detail"},
		"eventType", "mail")
	mailFields = newFieldTable(12, []string{"timestamp", "messageId", "source", "sourceArn", "sendingAccountId", "destination",
		"headersTruncated", "commonHeaders", "tags", "sourceIp", "callerIdentity", "headers"},
		"timestamp", "source", "sourceArn", "sendingAccountId", "messageId", "destination", "headersTruncated", "headers",
		"commonHeaders", "tags")
	commonHeadersFields = newFieldTable(9, []string{"from", "to", "cc", "bcc", "replyTo", "returnPath", "date", "messageId", "subject"},
		"from", "date", "to", "messageId", "subject")
	bounceFields = newFieldTable(7, []string{"bounceType", "bounceSubType", "bouncedRecipients", "timestamp", "feedbackId", "reportingMTA", "remoteMtaIp"},
		"feedbackId", "bounceType", "bounceSubType", "bouncedRecipients", "timestamp", "reportingMTA")
	complaintFields = newFieldTable(7, []string{"complainedRecipients", "timestamp", "feedbackId", "complaintSubType", "userAgent", "complaintFeedbackType", "arrivalDate"},
		"feedbackId", "complaintSubType", "complainedRecipients", "timestamp", "userAgent", "complaintFeedbackType", "arrivalDate")
	deliveryFields = newFieldTable(6, []string{"timestamp", "processingTimeMillis", "recipients", "smtpResponse", "reportingMTA", "remoteMtaIp"},
		"timestamp", "processingTimeMillis", "recipients", "smtpResponse", "reportingMTA", "remoteMtaIp")
)

func (d *fastDecoder) mail(m *Mail, ch *CommonHeaders) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			m.Timestamp, ok = d.str()
		case 1:
			m.MessageID, ok = d.str()
		case 2:
			m.Source, ok = d.lastText(lastSource)
		case 3:
			m.SourceArn, ok = d.lastText(lastSourceArn)
		case 4:
			m.SendingAccountID, ok = d.lastText(lastAccount)
		case 5:
			m.Destination, ok = d.strs(true)
			d.destination = m.Destination
		case 6:
			ok = d.flexBool()
		case 7:
			m.CommonHeaders, ok = ch, d.commonHeaders(ch)
		case 8:
			m.Tags, ok = d.tags(true)
			d.tagsRead = ok
		case 9:
			m.SourceIP, ok = d.istr()
		case 10:
			m.CallerIdentity, ok = d.istr()
		case 11:
			ok = d.skipHeaders()
		}
		return ok
	}, mailFields)
}

// skipHeaders validates and skips mail.headers (encoding/json ignores it: any value is fine).
// SES writes it as [{"name":"…","value":"…"},…] without white space; elements of exactly that
// shape are matched literally, anything else goes to skip.
func (d *fastDecoder) skipHeaders() bool {
	if d.peek() != '[' {
		return d.skip()
	}
	if !d.open('[') {
		return false
	}
	for n := 0; ; n++ {
		c := d.peek()
		if c == ']' {
			d.pos++
			d.depth--
			return true
		}
		if n > 0 {
			if c != ',' {
				return false
			}
			d.pos++
		}
		if !d.headerLiteral() && !d.skip() {
			return false
		}
	}
}

// headerLiteral consumes {"name":"…","value":"…"} (or value first, as a re-serialising
// transform may write it) without white space; false (with nothing consumed) for anything else.
// The member names are compared as 64-bit words: a header is two of these checks.
func (d *fastDecoder) headerLiteral() bool {
	start := d.pos
	data := d.data
	if len(data)-start < 12 {
		return false
	}
	var second uint64 // the first 8 bytes of the second member's `,"name":"` or `,"value"`
	switch w := binary.LittleEndian.Uint64(data[start:]); {
	case w == wordNameOpen && data[start+8] == '"': // {"name":"
		d.pos += len(`{"name":`)
		second = wordValueNext
	case w == wordValueOpen && data[start+8] == ':' && data[start+9] == '"': // {"value":"
		d.pos += len(`{"value":`)
		second = wordNameNext
	default:
		return false
	}
	if _, _, _, ok := d.scanString(); !ok || len(data)-d.pos < 12 || binary.LittleEndian.Uint64(data[d.pos:]) != second {
		d.pos = start
		return false
	}
	if second == wordValueNext {
		if data[d.pos+8] != ':' || data[d.pos+9] != '"' { // ,"value":"
			d.pos = start
			return false
		}
		d.pos += len(`,"value":`)
	} else {
		if data[d.pos+8] != '"' { // ,"name":"
			d.pos = start
			return false
		}
		d.pos += len(`,"name":`)
	}
	if _, _, _, ok := d.scanString(); !ok || d.pos >= len(data) || data[d.pos] != '}' {
		d.pos = start
		return false
	}
	d.pos++
	return true
}

// The first eight bytes of the header members' literals, little-endian.
var (
	wordNameOpen  = binary.LittleEndian.Uint64([]byte(`{"name":`))
	wordValueOpen = binary.LittleEndian.Uint64([]byte(`{"value"`))
	wordNameNext  = binary.LittleEndian.Uint64([]byte(`,"name":`))
	wordValueNext = binary.LittleEndian.Uint64([]byte(`,"value"`))
)

func (d *fastDecoder) commonHeaders(ch *CommonHeaders) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			ch.From, ok = d.strsIntern(true, true)
		case 1, 2, 3, 4:
			_, ok = d.strs(false)
		case 8:
			ch.Subject, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, commonHeadersFields)
}

// recipient validates a BouncedRecipient.
func (d *fastDecoder) recipient() bool {
	return d.strObject("emailAddress", "action", "status", "diagnosticCode")
}

func (d *fastDecoder) bounce(b *Bounce) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			b.BounceType, ok = d.istr()
		case 1:
			b.BounceSubType, ok = d.istr()
		case 2:
			b.BouncedRecipients = []BouncedRecipient{}
			ok = d.objects(func() bool {
				b.BouncedRecipients = append(b.BouncedRecipients, BouncedRecipient{})
				return d.object(func(i int) bool {
					if i != 0 {
						return d.skipStr()
					}
					s, ok := d.str()
					b.BouncedRecipients[len(b.BouncedRecipients)-1].EmailAddress = s
					return ok
				}, "emailAddress", "action", "status", "diagnosticCode")
			})
		case 3:
			b.Timestamp, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, bounceFields)
}

func (d *fastDecoder) complaint(c *Complaint) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			c.ComplainedRecipients = []Recipient{}
			ok = d.objects(func() bool {
				c.ComplainedRecipients = append(c.ComplainedRecipients, Recipient{})
				return d.object(func(int) bool {
					s, ok := d.str()
					c.ComplainedRecipients[len(c.ComplainedRecipients)-1].EmailAddress = s
					return ok
				}, "emailAddress")
			})
		case 1:
			c.Timestamp, ok = d.str()
		case 3:
			var sub string
			sub, ok = d.str()
			c.ComplaintSubType = &sub
		case 5:
			c.ComplaintFeedbackType, ok = d.istr()
		default:
			ok = d.skipStr()
		}
		return ok
	}, complaintFields)
}

func (d *fastDecoder) delivery(dl *Delivery) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			dl.Timestamp, ok = d.str()
		case 1:
			dl.ProcessingTimeMillis, ok = d.int64()
		case 2:
			dl.Recipients, ok = d.strsLike(d.destination)
		case 3:
			dl.SMTPResponse, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, deliveryFields)
}

// topicPreferences validates a TopicPreferences object.
func (d *fastDecoder) topicPreferences() bool {
	return d.object(func(i int) bool {
		if i == 0 {
			return d.bool()
		}
		return d.objects(func() bool { return d.strObject("topicName", "subscriptionStatus") })
	}, "unsubscribeAll", "topicSubscriptionStatus", "topicDefaultSubscriptionStatus")
}
