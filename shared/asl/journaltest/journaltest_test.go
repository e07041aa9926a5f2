package journaltest_test

import (
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
)

func TestMemory(t *testing.T) {
	journaltest.Run(t, func(*testing.T) asl.Journal { return journaltest.NewMemory() })
}
