package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/gennaker/gennaker/infra/constructs/api"
)

// config is the app's settings (see the command documentation).
type config struct {
	stackName    string
	authorizer   api.AuthorizerProps
	throttle     api.ThrottleProps
	logRetention awslogs.RetentionDays
	accounts     string
	auth         string
	sesIdentity  string
	topics       []string
}

const contextPrefix = "gennaker:"

// retentions are the periods CloudWatch Logs offers, by days.
var retentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
}

func readConfig(app awscdk.App) (config, error) {
	get := func(key string) (string, bool) {
		v := app.Node().TryGetContext(jsii.String(contextPrefix + key))
		if v == nil {
			return "", false
		}
		switch v := v.(type) {
		case string:
			return v, v != ""
		default:
			b, _ := json.Marshal(v)
			return string(b), true
		}
	}
	cfg := config{stackName: "Gennaker", authorizer: api.AuthorizerProps{Kind: api.IAM}}
	if v, ok := get("stackName"); ok {
		cfg.stackName = v
	}
	if v, ok := get("authorizer"); ok {
		cfg.authorizer.Kind = api.AuthorizerKind(strings.ToLower(v))
	}
	if v, ok := get("jwtIssuer"); ok {
		cfg.authorizer.JwtIssuer = v
	}
	if v, ok := get("jwtAudience"); ok {
		var list []string
		if json.Unmarshal([]byte(v), &list) != nil {
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					list = append(list, a)
				}
			}
		}
		cfg.authorizer.JwtAudience = list
	}
	number := func(key string, into *float64) error {
		v, ok := get(key)
		if !ok {
			return nil
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("context %s%s = %q: want a positive number", contextPrefix, key, v)
		}
		*into = n
		return nil
	}
	if err := number("throttleRateLimit", &cfg.throttle.RateLimit); err != nil {
		return config{}, err
	}
	if err := number("throttleBurstLimit", &cfg.throttle.BurstLimit); err != nil {
		return config{}, err
	}
	var days float64
	if err := number("logRetentionDays", &days); err != nil {
		return config{}, err
	}
	if days > 0 {
		r, ok := retentions[int(days)]
		if !ok || float64(int(days)) != days {
			return config{}, fmt.Errorf("context %slogRetentionDays = %v: CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557 days", contextPrefix, days)
		}
		cfg.logRetention = r
	}
	if v, ok := get("accountsFile"); ok {
		b, err := os.ReadFile(v)
		if err != nil {
			return config{}, fmt.Errorf("context %saccountsFile: %w", contextPrefix, err)
		}
		cfg.accounts = string(b)
	}
	if v, ok := get("authFile"); ok {
		b, err := os.ReadFile(v)
		if err != nil {
			return config{}, fmt.Errorf("context %sauthFile: %w", contextPrefix, err)
		}
		cfg.auth = string(b)
	}
	if v, ok := get("sesIdentity"); ok {
		cfg.sesIdentity = v
	}
	if v, ok := get("notificationTopics"); ok {
		if json.Unmarshal([]byte(v), &cfg.topics) != nil {
			cfg.topics = nil
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					cfg.topics = append(cfg.topics, a)
				}
			}
		}
		for _, arn := range cfg.topics {
			if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":sns:") {
				return config{}, fmt.Errorf("context %snotificationTopics: %q is not an SNS topic ARN", contextPrefix, arn)
			}
		}
	}
	if err := cfg.authorizer.Validate(); err != nil {
		return config{}, fmt.Errorf("context %sauthorizer: %w", contextPrefix, err)
	}
	return cfg, nil
}
