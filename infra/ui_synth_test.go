package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// checkAPIServesUI: in the synthesized stack the web UI's page route goes,
// without authorization, to the function that serves the API, and that
// function's binary embeds the built UI (web/dist) byte for byte — so the
// deployed API serves the same page and assets as `gennaker up`.
func checkAPIServesUI(t *testing.T, root, templatePath, out string, assets map[string]string) {
	t.Helper()
	var tpl struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	readJSON(t, templatePath, &tpl)
	integration := ""
	for id, r := range tpl.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" || r.Properties["RouteKey"] != "GET /" {
			continue
		}
		if r.Properties["AuthorizationType"] != "NONE" {
			t.Errorf("route %s (GET /) needs %v authorization: a browser could not load the UI", id, r.Properties["AuthorizationType"])
		}
		integration = firstRef(r.Properties["Target"])
	}
	if integration == "" {
		t.Fatal("the API has no GET / route to the UI")
	}
	uri, _ := dig(tpl.Resources[integration].Properties, "IntegrationUri", "Fn::GetAtt").([]any)
	if len(uri) == 0 {
		t.Fatalf("integration %s of GET / names no function", integration)
	}
	fn, _ := uri[0].(string)
	key, _ := dig(tpl.Resources[fn].Properties, "Code", "S3Key").(string)
	bootstrap, err := os.ReadFile(filepath.Join(out, assets[key], "bootstrap"))
	if err != nil {
		t.Fatalf("function %s behind GET /: %v", fn, err)
	}
	dist := os.DirFS(filepath.Join(root, "web", "dist"))
	files := 0
	err = fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		files++
		if !bytes.Contains(bootstrap, b) {
			t.Errorf("function %s behind GET / does not embed web/dist/%s", fn, p)
		}
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("web/dist holds %d files (%v); want the page, a script and a stylesheet", files, err)
	}
	t.Logf("GET / goes to function %s, which embeds the %d files of web/dist", fn, files)
}

// firstRef finds the first {"Ref": id} in a CloudFormation value.
func firstRef(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return r
		}
		for _, x := range v {
			if r := firstRef(x); r != "" {
				return r
			}
		}
	case []any:
		for _, x := range v {
			if r := firstRef(x); r != "" {
				return r
			}
		}
	}
	return ""
}
