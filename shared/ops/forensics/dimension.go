package forensics

import (
	"fmt"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// Dimension is what events are grouped by.
type Dimension string

// Dimensions.
const (
	ByPrincipal        Dimension = "principal"         // ses:caller-identity
	ByIP               Dimension = "ip"                // ses:source-ip
	ByFrom             Dimension = "from"              // first From address, lower case
	ByIdentity         Dimension = "identity"          // SES identity (mail.sourceArn)
	ByConfigurationSet Dimension = "configuration-set" // ses:configuration-set
	ByHour             Dimension = "hour"              // mail.timestamp truncated to the hour, UTC
)

// Dimensions lists every dimension in documentation order.
func Dimensions() []Dimension {
	return []Dimension{ByPrincipal, ByIP, ByFrom, ByIdentity, ByConfigurationSet, ByHour, ByAccessKey}
}

// ParseDimension checks a --by value.
func ParseDimension(s string) (Dimension, error) {
	for _, d := range Dimensions() {
		if string(d) == s {
			return d, nil
		}
	}
	names := make([]string, 0, 7)
	for _, d := range Dimensions() {
		names = append(names, string(d))
	}
	return "", fmt.Errorf("unknown dimension %q: want one of %s", s, strings.Join(names, ", "))
}

// Unknown is the key of events that lack the dimension (no caller identity, no source IP, ...):
// missing attribution is shown as such, never folded into a real key.
const Unknown = "(unknown)"

// Other is the group that collects keys beyond Options.MaxGroups.
const Other = "(other)"

// HourLayout formats ByHour keys.
const HourLayout = "2006-01-02T15Z"

// key returns ev's value along d.
func key(d Dimension, ev *sesevent.Event) string {
	var k string
	switch d {
	case ByPrincipal:
		k = ev.CallerIdentity
	case ByIP:
		if ev.SourceIP.IsValid() {
			k = ev.SourceIP.String()
		}
	case ByFrom:
		k = fromAddress(ev)
	case ByIdentity:
		k = ev.Identity
	case ByConfigurationSet:
		k = ev.ConfigurationSet
	case ByHour:
		if t := mailTime(ev); !t.IsZero() {
			k = t.UTC().Truncate(time.Hour).Format(HourLayout)
		}
	}
	if k == "" {
		return Unknown
	}
	return k
}

func fromAddress(ev *sesevent.Event) string {
	if len(ev.From) > 0 && ev.From[0].Address != "" {
		return strings.ToLower(ev.From[0].Address)
	}
	return strings.ToLower(ev.Source)
}

// mailTime is when SES accepted the message: the same in every event of one message, so time
// filters treat a Send and its outcomes alike.
func mailTime(ev *sesevent.Event) time.Time {
	if !ev.MailTime.IsZero() {
		return ev.MailTime
	}
	return ev.EventTime
}
