package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
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

// TestHandlerServesGzipToBrowsers: a browser (Accept-Encoding: gzip) gets
// the page and assets compressed, a client without it gets them plain, and
// both decode to the built files.
func TestHandlerServesGzipToBrowsers(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	assets := web.Assets()
	var paths []string
	_ = fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	for _, p := range paths {
		want, _ := fs.ReadFile(assets, p)
		url := srv.URL + "/" + p
		if p == "index.html" {
			url = srv.URL + "/"
		}
		for _, enc := range []string{"gzip, deflate, br", "identity", "gzip;q=0"} {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept-Encoding", enc)
			resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			gzipped := resp.Header.Get("Content-Encoding") == "gzip"
			if gzipped != (enc == "gzip, deflate, br") {
				t.Errorf("GET /%s with Accept-Encoding %q: Content-Encoding %q", p, enc, resp.Header.Get("Content-Encoding"))
			}
			if gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("GET /%s: %v", p, err)
				}
				body, _ = io.ReadAll(zr)
			}
			if resp.StatusCode != 200 || !bytes.Equal(body, want) {
				t.Errorf("GET /%s with Accept-Encoding %q = %d, %d bytes; want the %d bytes of dist/%s", p, enc, resp.StatusCode, len(body), len(want), p)
			}
		}
	}
}
