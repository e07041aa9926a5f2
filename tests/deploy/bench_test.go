package deploy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// BenchmarkRedBlack2Instances measures a red/black deploy of two hello
// instances end to end (trigger to finalized run), and reports how long two
// instances take to come up on their own, so the difference is the
// platform's overhead.
func BenchmarkRedBlack2Instances(b *testing.B) {
	e := newEnv(b)
	if ex := e.run(deployStage("v0", "redblack", 2, "", "")); ex.Status != model.StatusSucceeded {
		b.Fatalf("first deploy: %s", describe(ex))
	}
	var deploy, startup time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ex := e.run(deployStage(fmt.Sprintf("v%d", i+1), "redblack", 2, "", `, "scaleDown": true, "maxRemainingAsgs": 2`))
		deploy += time.Since(start)
		if ex.Status != model.StatusSucceeded {
			b.Fatalf("deploy %d: %s", i+1, describe(ex))
		}
		b.StopTimer()
		startup += instanceStartup(b, e, i)
		b.StartTimer()
	}
	b.ReportMetric(float64(deploy.Milliseconds())/float64(b.N), "redblack-ms")
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "startup-ms")
	b.ReportMetric(float64((deploy-startup).Milliseconds())/float64(b.N), "overhead-ms")
}

// instanceStartup creates two instances straight through the provider and
// times them until both are up.
func instanceStartup(b *testing.B, e *env, i int) time.Duration {
	c, err := e.rt.Providers.Cloud("local", "local")
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("bench-raw-v%03d", i%1000)
	start := time.Now()
	_, err = c.ServerGroupCreator.Create(context.Background(), providers.ServerGroupSpec{
		Name: name, Region: "local", Capacity: providers.Capacity{Min: 2, Max: 2, Desired: 2},
		Artifact:        map[string]any{"type": "local/command", "command": helloBin},
		HealthCheckPath: "/health",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.ServerGroups.Destroy(context.Background(), "local", name)
	for {
		g, err := c.ServerGroups.Get(context.Background(), "local", name)
		if err != nil {
			b.Fatal(err)
		}
		if g.Up() {
			return time.Since(start)
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("two instances not up in 30 s: %+v", g.Counts)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
