package forensics

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// genArchive writes messages×(Send + Delivery, every 20th also a Bounce, every 200th a
// Complaint) as SES event-publishing NDJSON, shaped like real records (headers, common headers,
// tags), and returns the bytes written. Principals, IPs and From addresses rotate so every
// dimension has a realistic number of groups.
func genArchive(w io.Writer, messages int, start time.Time) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	for i := 0; i < messages; i++ {
		at := start.Add(time.Duration(i) * 50 * time.Millisecond).UTC()
		ts := at.Format("2006-01-02T15:04:05.000Z")
		id := fmt.Sprintf("0102018f%08x-4e5f6a7b-8c9d-4e0f-a1b2-%012x-000000", i, start.Unix())
		who := fmt.Sprintf("svc-%02d", i%50)
		if i%97 == 0 {
			who = "ses-smtp-user.20190301-090000"
		}
		ip := fmt.Sprintf("10.20.%d.%d", i%7, i%200)
		if i%97 == 0 {
			ip = fmt.Sprintf("203.0.113.%d", i%250)
		}
		from := fmt.Sprintf("team%02d@mail.example.com", i%20)
		rcpt := fmt.Sprintf("user%d@example.net", i%5000)
		mail := fmt.Sprintf(`"mail":{"timestamp":"%s","source":"%s","sourceArn":"arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com","sendingAccountId":"111122223333","messageId":"%s","destination":["%s"],"headersTruncated":false,"headers":[{"name":"From","value":"Team <%s>"},{"name":"To","value":"%s"},{"name":"Subject","value":"Your order %d has shipped"},{"name":"MIME-Version","value":"1.0"},{"name":"Content-Type","value":"text/plain; charset=UTF-8"}],"commonHeaders":{"from":["Team <%s>"],"to":["%s"],"messageId":"<%d@app.mail.example.com>","subject":"Your order %d has shipped"},"tags":{"ses:operation":["SendRawEmail"],"ses:configuration-set":["prod-outbound"],"ses:source-ip":["%s"],"ses:source-tls-version":["TLSv1.3"],"ses:from-domain":["mail.example.com"],"ses:caller-identity":["%s"]}}`,
			ts, from, id, rcpt, from, rcpt, i, from, rcpt, i, i, ip, who)
		fmt.Fprintf(cw, `{"eventType":"Send",%s,"send":{}}`+"\n", mail)
		later := at.Add(2 * time.Second).Format("2006-01-02T15:04:05.000Z")
		fmt.Fprintf(cw, `{"eventType":"Delivery",%s,"delivery":{"timestamp":"%s","processingTimeMillis":1830,"recipients":["%s"],"smtpResponse":"250 2.0.0 OK 1714814129 ok","reportingMTA":"a8-30.smtp-out.amazonses.com"}}`+"\n", mail, later, rcpt)
		if i%20 == 0 {
			fmt.Fprintf(cw, `{"eventType":"Bounce",%s,"bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"%s","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"%s","feedbackId":"0102018f-%08x","reportingMTA":"dsn; a8-30.smtp-out.amazonses.com"}}`+"\n", mail, rcpt, later, i)
		}
		if i%200 == 0 {
			fmt.Fprintf(cw, `{"eventType":"Complaint",%s,"complaint":{"complainedRecipients":[{"emailAddress":"%s"}],"timestamp":"%s","feedbackId":"0102018f-c%07x","complaintFeedbackType":"abuse"}}`+"\n", mail, rcpt, later, i)
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
