// Package api is the CDK construct for gennaker's HTTP endpoint: an API
// Gateway HTTP API whose every route ($default) goes to the api function,
// which serves the Gate-compatible REST API with the same net/http handler as
// `gennaker up`. The integration sends payload format 2.0 events.
//
// The web UI's page ("GET /") and assets ("GET /assets/{file}") go to the
// same function without authorization: they hold no data, and a browser
// must load them before it can ask for a token. So do webhook deliveries
// ("POST /webhooks/{type}/{source}"), which the API verifies itself (see
// WebhookRouteKeys). Every other request is
// authorized, by IAM (SigV4-signed requests from principals
// allowed execute-api:Invoke) or by a JWT authorizer (an OIDC issuer and
// audience) as AuthorizerProps says; requests are throttled on the stage; and
// every request is written to an access log group as one JSON line.
package api

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AuthorizerKind selects how callers are authorized.
type AuthorizerKind string

const (
	// IAM authorizes SigV4-signed requests by the caller's IAM policies.
	IAM AuthorizerKind = "iam"
	// JWT authorizes requests that carry a bearer token from an OIDC issuer.
	JWT AuthorizerKind = "jwt"
)

// AuthorizerProps selects and configures the authorizer.
type AuthorizerProps struct {
	// Kind is IAM or JWT.
	Kind AuthorizerKind
	// JwtIssuer is the token issuer's URL (JWT only), e.g.
	// https://cognito-idp.<region>.amazonaws.com/<pool id>.
	JwtIssuer string
	// JwtAudience lists accepted "aud" (or client_id) values (JWT only).
	JwtAudience []string
}

// Validate reports an incomplete authorizer configuration.
func (a AuthorizerProps) Validate() error {
	switch a.Kind {
	case IAM:
		if a.JwtIssuer != "" || len(a.JwtAudience) > 0 {
			return fmt.Errorf("authorizer %q takes no JWT issuer or audience", a.Kind)
		}
	case JWT:
		if a.JwtIssuer == "" || len(a.JwtAudience) == 0 {
			return fmt.Errorf("authorizer %q needs a JWT issuer and at least one audience", a.Kind)
		}
	default:
		return fmt.Errorf("unknown authorizer %q: want %q or %q", a.Kind, IAM, JWT)
	}
	return nil
}

// ThrottleProps limit the requests the stage passes on.
type ThrottleProps struct {
	// RateLimit is the steady-state requests per second. Default 50.
	RateLimit float64
	// BurstLimit is the bucket size for bursts. Default 100.
	BurstLimit float64
}

// APIProps configures API.
type APIProps struct {
	// Handler serves every request.
	Handler awslambda.IFunction
	// Authorizer for every route.
	Authorizer AuthorizerProps
	// Throttle of the default stage.
	Throttle ThrottleProps
	// LogRetention of the access logs. Default one month.
	LogRetention awslogs.RetentionDays
}

// API is the HTTP API and its one auto-deployed stage.
type API struct {
	constructs.Construct
	HttpApi awsapigatewayv2.HttpApi
	Stage   awsapigatewayv2.HttpStage
	// AccessLogs is where every request is logged.
	AccessLogs awslogs.LogGroup
}

// accessLogFormat is one JSON object per request: who, what, how it went,
// and which integration error or authorizer error, if any.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"caller":"$context.identity.caller","user":"$context.identity.user","principal":"$context.authorizer.principalId",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path",` +
	`"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","latency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage",` +
	`"authorizerError":"$context.authorizer.error"}`

// NewAPI defines the API. It panics on an invalid Authorizer; callers
// validate configuration first with AuthorizerProps.Validate.
func NewAPI(scope constructs.Construct, id string, props *APIProps) *API {
	if props == nil || props.Handler == nil {
		panic("api: no handler function")
	}
	if err := props.Authorizer.Validate(); err != nil {
		panic("api: " + err.Error())
	}
	rate, burst := props.Throttle.RateLimit, props.Throttle.BurstLimit
	if rate == 0 {
		rate = 50
	}
	if burst == 0 {
		burst = 100
	}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	this := constructs.NewConstruct(scope, jsii.String(id))

	var authorizer awsapigatewayv2.IHttpRouteAuthorizer
	switch props.Authorizer.Kind {
	case IAM:
		authorizer = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	case JWT:
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("Jwt"),
			jsii.String(props.Authorizer.JwtIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				JwtAudience: jsii.Strings(props.Authorizer.JwtAudience...),
			})
	}

	handler := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Handler"), props.Handler,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	httpAPI := awsapigatewayv2.NewHttpApi(this, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("gennaker: the Gate-compatible API"),
		DefaultIntegration: handler,
		DefaultAuthorizer:  authorizer,
		// The stage below replaces the default one, to carry throttling and
		// access logs.
		CreateDefaultStage: jsii.Bool(false),
	})
	uiRoutes(httpAPI, handler)
	webhookRoutes(httpAPI, handler)
	accessLogs := awslogs.NewLogGroup(this, jsii.String("AccessLogs"), &awslogs.LogGroupProps{Retention: retention})
	stage := awsapigatewayv2.NewHttpStage(this, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    httpAPI,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(rate),
			BurstLimit: jsii.Number(burst),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(accessLogs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
		},
	})
	return &API{Construct: this, HttpApi: httpAPI, Stage: stage, AccessLogs: accessLogs}
}

// UIRouteKeys are the routes of the web UI's page and assets.
var UIRouteKeys = []string{"GET /", "GET /assets/{file}"}

// uiRoutes serves the web UI without authorization; see the package doc.
func uiRoutes(httpAPI awsapigatewayv2.HttpApi, handler awsapigatewayv2.HttpRouteIntegration) {
	for _, path := range []string{"/", "/assets/{file}"} {
		routes := httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
			Integration: handler,
			Authorizer:  awsapigatewayv2.NewHttpNoneAuthorizer(),
		})
		for _, r := range *routes {
			cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
				Id: jsii.String("AwsSolutions-APIG4"),
				Reason: jsii.String("The web UI's page and its content-hashed assets are public static files " +
					"with no data; the browser loads them before it has a token, and every API call the UI " +
					"makes goes through the authorized default route."),
			}}, jsii.Bool(true))
		}
	}
}

// WebhookRouteKeys are the routes of webhook deliveries: GitHub, GitLab,
// Bitbucket and generic webhook senders can neither sign requests with IAM
// nor carry the API's JWT, so they reach the api function without
// authorization; the API checks each delivery itself (a trigger's secret,
// GitHub's X-Hub-Signature-256) and starts runs as the pipeline's
// service account, never as the sender.
var WebhookRouteKeys = []string{"POST /webhooks/{type}/{source}"}

// webhookRoutes serves webhook deliveries without authorization; see
// WebhookRouteKeys.
func webhookRoutes(httpAPI awsapigatewayv2.HttpApi, handler awsapigatewayv2.HttpRouteIntegration) {
	routes := httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/webhooks/{type}/{source}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
		Integration: handler,
		Authorizer:  awsapigatewayv2.NewHttpNoneAuthorizer(),
	})
	for _, r := range *routes {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("Webhook senders (GitHub, GitLab, Bitbucket, CI systems) cannot use IAM or the API's JWT; " +
				"the API verifies each delivery's secret or signature and runs start as the pipeline's service account."),
		}}, jsii.Bool(true))
	}
}

// URL is the API's base URL.
func (a *API) URL() *string { return a.Stage.Url() }

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings, an
// interface the CDK asks callers to implement.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return s.destination }
func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat              { return s.format }
