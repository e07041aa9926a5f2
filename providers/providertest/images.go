package providertest

import (
	"context"
	"slices"
	"testing"

	"github.com/gennaker/gennaker/providers"
)

// ImagesEnv is what the Images suite needs from a provider's test.
type ImagesEnv struct {
	Images providers.Images
	// Publish makes an image named name appear in the account, seen later
	// than every image published before; publishing a name again makes it
	// appear once more, as a second deploy of the same image does.
	Publish func(t *testing.T, name string)
}

// Images checks what providers.Images promises: Find matches a substring
// of the name, an empty query matches every image, the newest comes first,
// an image seen twice is listed once from when it was first seen, and
// finding none is an empty list. Every image it publishes is named
// "confimg-...".
func Images(t *testing.T, env ImagesEnv) {
	ctx := context.Background()
	find := func(query string) []string {
		t.Helper()
		list, err := env.Images.Find(ctx, query)
		if err != nil {
			t.Fatalf("Find(%q): %v", query, err)
		}
		out := []string{}
		for _, im := range list {
			out = append(out, im.Name)
		}
		return out
	}
	if got := find("confimg-"); len(got) != 0 {
		t.Fatalf("Find before any was published = %v, want an empty list", got)
	}
	for _, name := range []string{"confimg-alpha", "confimg-beta", "confimg-gamma"} {
		env.Publish(t, name)
	}
	newestFirst := []string{"confimg-gamma", "confimg-beta", "confimg-alpha"}
	if got := find("confimg-"); !slices.Equal(got, newestFirst) {
		t.Fatalf("Find(confimg-) = %v, want newest first: %v", got, newestFirst)
	}
	if got := find("img-bet"); !slices.Equal(got, []string{"confimg-beta"}) {
		t.Fatalf("Find(img-bet) = %v, want [confimg-beta]: any part of the name matches", got)
	}
	var ours []string
	for _, name := range find("") {
		if slices.Contains(newestFirst, name) {
			ours = append(ours, name)
		}
	}
	if !slices.Equal(ours, newestFirst) {
		t.Fatalf("Find(\"\") lists %v of the published images, want every one newest first: %v", ours, newestFirst)
	}
	if got := find("confimg-none-such"); len(got) != 0 {
		t.Fatalf("Find of what matches nothing = %v, want an empty list", got)
	}

	// Deploying alpha again does not make it a newer image.
	env.Publish(t, "confimg-alpha")
	if got := find("confimg-"); !slices.Equal(got, newestFirst) {
		t.Fatalf("Find(confimg-) after publishing alpha again = %v, want each image once, by when it was first seen: %v", got, newestFirst)
	}
}
