package triggers

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/store"
)

// BenchmarkMatch10000Pipelines measures matching one ECR push against an
// embedded store holding 10,000 pipelines: a docker trigger each, on 2,000
// repositories (five pipelines listen to each, with different tag
// patterns), plus 10,000 git triggers on other repositories. The time per
// operation is the time one event takes to find the pipelines it starts.
func BenchmarkMatch10000Pipelines(b *testing.B) {
	s := openStore(b)
	const n = 10000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tags := []string{"latest", "v.*", "lat.*", "release-.*", ".*"}
				p := pipelineWith(b, fmt.Sprintf("p%05d", i), fmt.Sprintf("Pipeline %05d", i), fmt.Sprintf(
					`[{"type":"docker","enabled":true,"repository":"repo-%d","tag":%q},
					  {"type":"git","enabled":true,"source":"codecommit","slug":"code-%d","branch":"main"}]`,
					i%2000, tags[(i/2000)%5], i), "")
				if _, err := s.Pipelines().Save(context.Background(), p, "", 0); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	ev := DockerPush("bench", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "repo-1234", "latest", "sha256:abc")
	b.ResetTimer()
	var fire []store.TriggerEntry
	for range b.N {
		var err error
		fire, _, err = Match(context.Background(), s.Triggers(), ev)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Tags latest, lat.* and .* match; v.* and release-.* do not.
	if len(fire) != 3 {
		b.Fatalf("the push fires %d pipelines, want 3", len(fire))
	}
}
