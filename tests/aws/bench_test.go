package aws_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/model"
)

// BenchmarkRedBlackAPICalls counts the AWS API calls of one red/black
// deploy of a two-instance group in one region behind one target group
// (the previous group serving), and of one look at a server group while a
// deploy waits on it, which a wait makes every DefaultPollInterval:
//
//	go test -run '^$' -bench RedBlackAPICalls -benchtime 3x ./tests/aws/
func BenchmarkRedBlackAPICalls(b *testing.B) {
	e := newEnv(b, nil)
	one := []string{"us-east-1"}
	if ex := e.run(deployStage(amiV1, "redblack", 2, one, "")); ex.Status != model.StatusSucceeded {
		b.Fatalf("first deploy: %s", describe(ex))
	}
	total := 0
	var last map[string]int
	b.ResetTimer()
	for i := range b.N {
		e.calls.take()
		ex := e.run(deployStage(fmt.Sprintf("ami-%017x", i+2), "redblack", 2, one, `, "maxRemainingAsgs": 2`))
		last = e.calls.take()
		if ex.Status != model.StatusSucceeded {
			b.Fatalf("red/black: %s", describe(ex))
		}
		for _, n := range last {
			total += n
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/float64(b.N), "calls/deploy")
	b.Logf("one red/black: %s", breakdown(last))

	c, err := e.rt.Providers.Cloud("prod", "aws")
	if err != nil {
		b.Fatal(err)
	}
	groups, err := c.ServerGroups.List(context.Background(), "shop")
	if err != nil || len(groups) == 0 {
		b.Fatalf("groups: %v", err)
	}
	e.calls.take()
	if _, err := c.ServerGroups.Get(context.Background(), "us-east-1", groups[len(groups)-1].Name); err != nil {
		b.Fatal(err)
	}
	poll := e.calls.take()
	n := 0
	for _, k := range poll {
		n += k
	}
	b.ReportMetric(float64(n), "calls/poll")
	b.ReportMetric(float64(n)*60/gaws.DefaultPollInterval.Seconds(), "calls/min-waiting")
	b.Logf("one look while waiting: %s", breakdown(poll))
}

func breakdown(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
