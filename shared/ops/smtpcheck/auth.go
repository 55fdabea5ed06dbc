package smtpcheck

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// loginClient is SASL LOGIN answered by step, never by prompt text: servers word the prompts
// differently (SES sends "Username:"/"Password:", others "User Name", localised text or nothing),
// so the first challenge gets the user name and the second the password, whatever they say.
// go-sasl's own LOGIN client compares the prompt with "Password:" and fails elsewhere.
type loginClient struct {
	user, password string
	step           int
}

var _ sasl.Client = (*loginClient)(nil)

func (c *loginClient) Start() (string, []byte, error) {
	// No initial response: the portable form is AUTH LOGIN, then one 334 per field.
	return sasl.Login, nil, nil
}

func (c *loginClient) Next(_ []byte) ([]byte, error) {
	c.step++
	switch c.step {
	case 1:
		return []byte(c.user), nil
	case 2:
		return []byte(c.password), nil
	default:
		return nil, errors.New("LOGIN: server asked for more than a user name and a password")
	}
}

// newSASL returns the SASL client for mech (PLAIN or LOGIN).
func newSASL(mech, user, password string) sasl.Client {
	if mech == sasl.Plain {
		return sasl.NewPlainClient("", user, password)
	}
	return &loginClient{user: user, password: password}
}
