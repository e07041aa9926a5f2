package notify

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the `notifications` section of the configuration file: where
// links point, how notifications are retried, and each channel's
// credentials and address. Every field is optional.
//
//	notifications:
//	  baseUrl: https://gennaker.example.com      # the web UI, for links
//	  timeout: 10s                                # per attempt
//	  attempts: 6                                 # 5xx and network errors are retried
//	  backoff: 500ms                              # doubled after each attempt
//	  slack: {token: xoxb-…, baseUrl: https://slack.com}
//	  email: {from: gennaker@example.com, smtp: {host, port, username, password, startTLS}, ses: false}
//	  github: {token: ghp_…, baseUrl: https://api.github.com}
//	  webhook: {signingSecret: …}
type Config struct {
	BaseURL  string   `yaml:"baseUrl"`
	Timeout  Duration `yaml:"timeout"`
	Attempts int      `yaml:"attempts"`
	Backoff  Duration `yaml:"backoff"`
	Slack    Slack    `yaml:"slack"`
	Email    Email    `yaml:"email"`
	GitHub   GitHub   `yaml:"github"`
	Webhook  Webhook  `yaml:"webhook"`
}

// Slack is the Slack (or Slack-compatible) API a bot posts with.
type Slack struct {
	Token string `yaml:"token"`
	// BaseURL is the API's address; empty means https://slack.com.
	BaseURL string `yaml:"baseUrl"`
	// SigningSecret is the Slack app's signing secret. When set, manual
	// judgment messages carry Continue and Stop buttons, and the app's
	// interactivity Request URL, POST /notifications/slack/interactions,
	// records the judgment of whoever pressed one.
	SigningSecret string `yaml:"signingSecret"`
}

// Email says how email notifications leave: through SMTP, or through
// Amazon SES (v2) when SES is set.
type Email struct {
	From string `yaml:"from"`
	SMTP SMTP   `yaml:"smtp"`
	SES  bool   `yaml:"ses"`
}

// SMTP is the mail server email notifications go through.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// StartTLS requires the server to offer STARTTLS.
	StartTLS bool `yaml:"startTLS"`
}

// GitHub is the API commit statuses are set through.
type GitHub struct {
	Token string `yaml:"token"`
	// BaseURL is the API's address; empty means https://api.github.com.
	BaseURL string `yaml:"baseUrl"`
}

// Webhook signs webhook notifications when SigningSecret is set: the
// X-Gennaker-Signature header is "sha256=" and the hex HMAC-SHA256 of the
// body.
type Webhook struct {
	SigningSecret string `yaml:"signingSecret"`
}

// Duration is a duration written as Go writes one ("500ms", "10s").
type Duration time.Duration

// UnmarshalYAML reads "10s" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if v, err := time.ParseDuration(n.Value); err == nil {
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := n.Decode(&secs); err != nil {
		return fmt.Errorf("%q is not a duration such as 10s or 500ms", n.Value)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Defaults.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultAttempts = 6
	DefaultBackoff  = 500 * time.Millisecond
)

// LinkBase is the web UI's address that links point into; empty means
// gennaker up's default address.
func (c Config) LinkBase() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return "http://localhost:8084"
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return DefaultTimeout
}

func (c Config) attempts() int {
	if c.Attempts > 0 {
		return c.Attempts
	}
	return DefaultAttempts
}

func (c Config) backoff() time.Duration {
	if c.Backoff > 0 {
		return time.Duration(c.Backoff)
	}
	return DefaultBackoff
}

var (
	yamlLine = regexp.MustCompile(`line \d+: `)
	yamlType = regexp.MustCompile(`field (\S+) not found in type notify\.(\w+)`)
	// configPaths names where each settings type sits in the section.
	configPaths = map[string]string{
		"Config": "notifications", "Slack": "notifications.slack", "Email": "notifications.email",
		"SMTP": "notifications.email.smtp", "GitHub": "notifications.github", "Webhook": "notifications.webhook",
	}
)

// configErrorMessage turns the YAML decoder's error into one that names
// the path of each field that does not fit.
func configErrorMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	msg = yamlLine.ReplaceAllString(msg, "")
	msg = yamlType.ReplaceAllStringFunc(msg, func(m string) string {
		sub := yamlType.FindStringSubmatch(m)
		return fmt.Sprintf("%s.%s: is not a setting", configPaths[sub[2]], sub[1])
	})
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if !strings.HasPrefix(l, "notifications") {
				l = "notifications: " + l
			}
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// ParseConfig reads the notifications section (any YAML value). An unknown
// field or a value of the wrong kind is an error that names its path
// ("notifications.slack.tokn: …").
func ParseConfig(section any) (Config, error) {
	var c Config
	if section == nil {
		return c, nil
	}
	doc, err := yaml.Marshal(section)
	if err != nil {
		return c, fmt.Errorf("notifications: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s", configErrorMessage(err))
	}
	if c.Attempts < 0 {
		return c, fmt.Errorf("notifications.attempts: must be at least 1, not %d", c.Attempts)
	}
	if c.Email.SMTP.Host != "" && c.Email.From == "" {
		return c, fmt.Errorf("notifications.email.from: is required to send email")
	}
	return c, nil
}
