package web_test

import (
	"compress/gzip"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/web"
)

// bundleBudget is the most JavaScript, gzipped, the first page may load.
const bundleBudget = 300 << 10

// TestBundleBudget: the scripts the page loads stay under 300 KB gzipped.
func TestBundleBudget(t *testing.T) {
	assets := web.Assets()
	total := 0
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		n := gzipSize(t, b)
		t.Logf("%s: %d bytes, %d gzipped", p, len(b), n)
		total += n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 {
		t.Fatal("dist/assets holds no JavaScript")
	}
	if total > bundleBudget {
		t.Errorf("the UI's JavaScript is %d bytes gzipped, over the %d budget", total, bundleBudget)
	}
}

type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func gzipSize(t *testing.T, b []byte) int {
	c := &counter{}
	w, _ := gzip.NewWriterLevel(c, gzip.BestCompression)
	if _, err := io.Copy(w, strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return c.n
}
