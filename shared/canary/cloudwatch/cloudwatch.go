// Package cloudwatch is the canary metric source for Amazon CloudWatch,
// which Kayenta itself lacks: a metric's namespace, name and statistic,
// with its fixed dimensions plus one dimension whose value is the scope
// (by default AutoScalingGroupName, so a server group of the AWS provider
// is measured), fetched with GetMetricData.
//
// A query in a canary config:
//
//	{"type": "cloudwatch", "namespace": "AWS/ApplicationELB",
//	 "metricName": "HTTPCode_Target_5XX_Count", "stat": "Sum",
//	 "dimensions": {"LoadBalancer": "app/web/123"},
//	 "scopeDimension": "TargetGroup"}
package cloudwatch

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/gennaker/gennaker/shared/canary"
)

// Type is the query type this source answers.
const Type = "cloudwatch"

// DefaultScopeDimension is the dimension a scope sets when the query names
// none: an Auto Scaling group, the AWS provider's server group.
const DefaultScopeDimension = "AutoScalingGroupName"

// client is the one CloudWatch call the source makes.
type client interface {
	GetMetricData(ctx context.Context, in *cw.GetMetricDataInput, opts ...func(*cw.Options)) (*cw.GetMetricDataOutput, error)
}

// Source reads one account and region's CloudWatch metrics.
type Source struct {
	api client
}

// New returns the source for an SDK configuration (its region and
// credentials).
func New(cfg aws.Config) *Source { return &Source{api: cw.NewFromConfig(cfg)} }

// Type implements canary.Source.
func (s *Source) Type() string { return Type }

// Fetch implements canary.Source: one series, whose tags are the
// dimensions asked for.
func (s *Source) Fetch(ctx context.Context, m canary.MetricConfig, _ map[string]string, sc canary.Scope) ([]canary.Series, error) {
	q := m.Query
	dimName := q.ScopeDimension
	if dimName == "" {
		dimName = DefaultScopeDimension
	}
	tags := map[string]string{}
	for k, v := range q.Dimensions {
		tags[k] = v
	}
	if sc.Scope != "" {
		tags[dimName] = sc.Scope
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dims := make([]types.Dimension, 0, len(keys))
	for _, k := range keys {
		dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(tags[k])})
	}
	stat := q.Stat
	if stat == "" {
		stat = "Average"
	}
	period := int32(sc.Step / time.Second)
	if period < 1 {
		period = 60
	}
	stat2 := &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.MetricName), Dimensions: dims},
		Period: aws.Int32(period),
		Stat:   aws.String(stat),
	}
	if q.Unit != "" {
		stat2.Unit = types.StandardUnit(q.Unit)
	}
	in := &cw.GetMetricDataInput{
		StartTime: aws.Time(sc.Start),
		EndTime:   aws.Time(sc.End),
		ScanBy:    types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("m0"), MetricStat: stat2, ReturnData: aws.Bool(true),
		}},
	}
	type point struct {
		t time.Time
		v float64
	}
	var pts []point
	for {
		out, err := s.api.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch %s/%s (%s=%s): %w", q.Namespace, q.MetricName, dimName, sc.Scope, err)
		}
		for _, r := range out.MetricDataResults {
			for i := range r.Values {
				if i < len(r.Timestamps) {
					pts = append(pts, point{r.Timestamps[i], r.Values[i]})
				}
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if len(pts) == 0 {
		return nil, nil
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
	vals := make([]float64, len(pts))
	for i, p := range pts {
		vals[i] = p.v
	}
	return []canary.Series{{Tags: tags, Values: vals}}, nil
}
