// Package smtpcheck checks an SMTP submission endpoint step by step — DNS (private or public
// answer), TCP connect with a timeout, EHLO, STARTTLS or implicit TLS, the negotiated TLS version and
// certificate, AUTH LOGIN or PLAIN — and never sends mail. It also derives the Amazon SES SMTP
// password from an IAM secret access key.
package smtpcheck
