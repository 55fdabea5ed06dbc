package alert

// Clean is the sanitiser every destination outside chat uses for attacker-controlled text (From
// display names, subjects, identities): one line of valid UTF-8 without control, bidi or
// zero-width characters, chat-wide mentions defused, clipped to limit characters (UTF-16 units)
// with TruncationMarker. It adds no markup escaping: the caller's format (JSON for Security Hub,
// OCSF and EventBridge) does its own. Exported for shared/render/asff and shared/render/ocsf.
func Clean(s string, limit int) string { return clipClean(s, limit) }

// RuleTitle is the human title of a rule ("SES send from outside the approved networks"), the
// same every alert shows; unknown rules show their name. Callers sanitise it.
func RuleTitle(rule string) string { return title(rule) }
