package sescorpus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Shape is what a corpus looks like beyond its seed, so that a benchmark can be run on archives
// the decoder was not tuned on: which headers the mail carries, how many user tags, how big the
// records are, the order members are written in, and how many sends break Policy. The zero Shape
// is the realistic corpus (Shapes["realistic"]).
type Shape struct {
	Name    string
	Headers HeaderMix
	Sizes   SizeMix
	Order   Order
	// CustomTags is the number of user message tags per record (SES copies them into mail.tags
	// beside its own ses:* tags).
	CustomTags int
	// ViolatePercent is the share of messages, in percent, whose Send breaks Policy; 0 is one
	// in ViolationEvery.
	ViolatePercent int
}

// HeaderMix says which mail.headers a message carries.
type HeaderMix int

const (
	// HeadersTransactional: 7 headers for most mail; DKIM, List-Unsubscribe and Received chains
	// on the larger messages.
	HeadersTransactional HeaderMix = iota
	// HeadersMarketing: every message signed and unsubscribable, with Feedback-ID, Reply-To and
	// X-Mailer (13+ headers).
	HeadersMarketing
	// HeadersLean: plain-text mail with the 7 headers a minimal client writes; DKIM only on the
	// larger messages.
	HeadersLean
)

// SizeMix is the distribution of recipients per message, and with it record size.
type SizeMix int

const (
	// SizesTransactional: 80 % one recipient; 1 % near SES's 10 KB header cap (mean ~1.9 KB).
	SizesTransactional SizeMix = iota
	// SizesSmall: 95 % one recipient, none truncated (mean ~1.3 KB).
	SizesSmall
	// SizesBulk: newsletters, 1–50 recipients (mean ~3.3 KB with marketing headers).
	SizesBulk
)

// Order is the member order of the JSON objects.
type Order int

const (
	// OrderSES is the order SES writes: eventType, mail (timestamp … tags), the event object.
	OrderSES Order = iota
	// OrderShuffled permutes mail's members and tags per message, writes eventType last in half
	// the records and some header objects value-first: what a re-serialising transform (a
	// Firehose processor, a JSON library with unordered maps) leaves.
	OrderShuffled
)

// Shapes are the named shapes cmd/bench runs.
var Shapes = map[string]Shape{
	"realistic": {Name: "realistic"},
	// The shape of the independently generated archive of issue 21: ~1.4 KB records with
	// mail.headers, a tenth of the sends outside the networks.
	"independent": {Name: "independent", Headers: HeadersLean, Sizes: SizesSmall, Order: OrderShuffled, CustomTags: 2, ViolatePercent: 10},
	"marketing":   {Name: "marketing", Headers: HeadersMarketing, Sizes: SizesBulk, CustomTags: 5, ViolatePercent: 5},
}

// ShapeNames returns the names of Shapes, sorted.
func ShapeNames() []string {
	names := make([]string, 0, len(Shapes))
	for n := range Shapes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupShape returns the named shape, or an error listing the names.
func LookupShape(name string) (Shape, error) {
	s, ok := Shapes[name]
	if !ok {
		return Shape{}, fmt.Errorf("unknown corpus shape %q (have %s)", name, strings.Join(ShapeNames(), ", "))
	}
	return s, nil
}

// Describe says in one line what the shape generates.
func (s Shape) Describe() string {
	headers := [...]string{"transactional headers (7, up to 15 on large mail)", "marketing headers (13+)", "lean headers (7)"}[s.Headers]
	sizes := [...]string{"transactional sizes (80 % one recipient, 1 % near 10 KB)", "small (95 % one recipient)", "bulk (1–50 recipients)"}[s.Sizes]
	order := [...]string{"SES member order", "shuffled member order"}[s.Order]
	v := s.ViolatePercent
	violating := fmt.Sprintf("%d %% of messages violating", v)
	if v == 0 {
		violating = fmt.Sprintf("1 in %d messages violating", ViolationEvery)
	}
	return fmt.Sprintf("%s, %s, %s, 7 ses:* tags + %d user tags, %s", headers, sizes, order, s.CustomTags, violating)
}

// draw returns the recipients of a message and how much extra it carries (0 none; 1 DKIM and
// list headers; 2 also Received chains; 3 also a header near the 10 KB cap, truncated).
func (m SizeMix) draw(r *rand.Rand) (rcpts, extra int) {
	p := r.IntN(100)
	switch m {
	case SizesSmall:
		switch {
		case p < 95:
			return 1, 0
		case p < 99:
			return 2 + r.IntN(2), 1
		default:
			return 4 + r.IntN(5), 1
		}
	case SizesBulk:
		switch {
		case p < 40:
			return 1, 1
		case p < 85:
			return 2 + r.IntN(5), 1
		case p < 98:
			return 8 + r.IntN(23), 2
		default:
			return 36 + r.IntN(15), 3 // SES takes at most 50 recipients a message
		}
	}
	// Most records are ~1.4 KB transactional mail; some carry DKIM and list headers, a few go to
	// many recipients, and about one in a hundred is near SES's 10 KB header cap.
	switch {
	case p < 80:
		return 1, 0
	case p < 95:
		return 1 + r.IntN(3), 1
	case p < 99:
		return 8 + r.IntN(25), 2
	default:
		return 36 + r.IntN(16), 3
	}
}

var customTags = []string{"campaign", "tenant-id", "stream", "env", "template", "app", "region-hint"}

func suffix(n int) string {
	if n == 0 {
		return ""
	}
	return "-" + strconv.Itoa(n)
}

func customValue(r *rand.Rand, k int) string {
	switch k % 3 {
	case 0:
		return "spring-" + randWord(r, 6)
	case 1:
		return "t-" + strconv.Itoa(r.IntN(5000))
	default:
		return randWord(r, 3+r.IntN(12))
	}
}
