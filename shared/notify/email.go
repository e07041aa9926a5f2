package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// recipients splits an address list ("a@x.com, b@x.com").
func recipients(address string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(address, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// smtpSender sends email through an SMTP server.
type smtpSender struct {
	cfg     Email
	timeout time.Duration
}

func (s smtpSender) Send(ctx context.Context, j Job) error {
	if s.cfg.SMTP.Host == "" {
		return permanent("email: no mail server (notifications.email.smtp.host in the configuration file)")
	}
	to := recipients(j.Address)
	if len(to) == 0 {
		return permanent("email: the notification names no recipient (address)")
	}
	port := s.cfg.SMTP.Port
	if port == 0 {
		port = 25
	}
	addr := net.JoinHostPort(s.cfg.SMTP.Host, strconv.Itoa(port))
	dialer := net.Dialer{Timeout: s.timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.cfg.SMTP.Host)
	if err != nil {
		return fmt.Errorf("email: %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.cfg.SMTP.Host}); err != nil {
			return fmt.Errorf("email: STARTTLS with %s: %w", addr, err)
		}
	} else if s.cfg.SMTP.StartTLS {
		return permanent("email: %s does not offer STARTTLS, which notifications.email.smtp.startTLS requires", addr)
	}
	if s.cfg.SMTP.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.SMTP.Username, s.cfg.SMTP.Password, s.cfg.SMTP.Host)); err != nil {
			return smtpErr(addr, err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return smtpErr(addr, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return smtpErr(addr, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(addr, err)
	}
	if _, err := w.Write(mailMessage(s.cfg.From, to, j)); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(addr, err)
	}
	return c.Quit()
}

// smtpErr makes a 5xx reply permanent; 4xx replies and broken
// connections may be tried again.
func smtpErr(addr string, err error) error {
	err = fmt.Errorf("email: %s: %w", addr, err)
	if strings.HasPrefix(strings.TrimPrefix(err.Error(), "email: "+addr+": "), "5") {
		return &PermanentError{Err: err}
	}
	return err
}

func mailMessage(from string, to []string, j Job) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", j.Subject)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@gennaker>\r\n", strings.NewReplacer("/", ".", "#", ".").Replace(j.ID))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(j.Text, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// sesAPI is the part of Amazon SES v2 email notifications use.
type sesAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// sesSender sends email through Amazon SES v2.
type sesSender struct {
	from string
	api  sesAPI
}

func (s sesSender) Send(ctx context.Context, j Job) error {
	to := recipients(j.Address)
	if len(to) == 0 {
		return permanent("email: the notification names no recipient (address)")
	}
	if s.from == "" {
		return permanent("email: no sender (notifications.email.from, or the stack's SES identity)")
	}
	_, err := s.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &sestypes.Destination{ToAddresses: to},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(j.Subject), Charset: aws.String("UTF-8")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(j.Text), Charset: aws.String("UTF-8")}},
		}},
	})
	if err != nil {
		return awsErr("email (SES)", err)
	}
	return nil
}
