package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

// snsAPI is the part of Amazon SNS sns and pubsub notifications use.
type snsAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNSMessage is what an sns (or amazon pubsub) notification publishes.
type SNSMessage struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	Event   Event  `json:"event"`
}

// snsSender publishes to the topic ARN in the notification's address.
type snsSender struct{ api snsAPI }

func (s snsSender) Send(ctx context.Context, j Job) error {
	if !strings.HasPrefix(j.Address, "arn:") {
		return permanent("sns: address must be a topic ARN, not %q", j.Address)
	}
	body, _ := json.Marshal(SNSMessage{Subject: j.Subject, Text: j.Text, Event: j.Event})
	subject := j.Subject
	if len(subject) > 100 {
		subject = subject[:97] + "..."
	}
	_, err := s.api.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(j.Address), Message: aws.String(string(body)), Subject: aws.String(subject),
	})
	if err != nil {
		return awsErr("sns", err)
	}
	return nil
}

// awsErr makes an AWS client error permanent when AWS blamed the request.
func awsErr(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient && !strings.Contains(api.ErrorCode(), "Throttl") {
		return &PermanentError{Err: err}
	}
	return err
}
