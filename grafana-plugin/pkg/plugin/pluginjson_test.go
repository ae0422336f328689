package plugin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

// TestPluginJSON checks src/plugin.json against the rules Grafana's plugin
// validator applies (the validator itself is not available here): required
// fields, the id's form and its type suffix, backend with executable,
// alerting only with a backend, streaming for Live, logos that exist.
func TestPluginJSON(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../src/plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("plugin.json is not JSON: %v", err)
	}
	var p struct {
		Type, Name, ID, Executable   string
		Backend, Alerting, Streaming bool
		Annotations                  bool
		Info                         *struct {
			Author           *struct{ Name string } `json:"author"`
			Logos            *struct{ Small, Large string }
			Version, Updated string
		}
		Dependencies *struct {
			GrafanaDependency string `json:"grafanaDependency"`
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "name", "id", "info", "dependencies"} {
		if _, ok := all[k]; !ok {
			t.Errorf("required field %s is missing", k)
		}
	}
	if !regexp.MustCompile(`^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource)$`).MatchString(p.ID) {
		t.Errorf("id %q does not match ^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource)$", p.ID)
	}
	if !strings.HasSuffix(p.ID, "-"+p.Type) {
		t.Errorf("id %q does not end in its type %q", p.ID, p.Type)
	}
	if p.ID != plugin.PluginID {
		t.Errorf("id %q, but the backend manages %q", p.ID, plugin.PluginID)
	}
	if !p.Backend || p.Executable != "gpx_wedsync_scaling" {
		t.Errorf("backend %v executable %q: want true, gpx_wedsync_scaling (the build writes dist/gpx_wedsync_scaling_linux_amd64)", p.Backend, p.Executable)
	}
	if p.Alerting && !p.Backend {
		t.Error("alerting requires backend: true")
	}
	if !p.Streaming {
		t.Error("the backend serves Grafana Live: streaming must be true")
	}
	if !p.Annotations {
		t.Error("the backend answers annotations: annotations must be true")
	}
	if p.Info == nil || p.Info.Author == nil || p.Info.Author.Name == "" || p.Info.Version == "" {
		t.Error("info needs author.name and version")
	} else if p.Info.Logos == nil {
		t.Error("info.logos is missing")
	} else {
		for _, l := range []string{p.Info.Logos.Small, p.Info.Logos.Large} {
			if _, err := os.Stat(filepath.Join("../../src", l)); err != nil {
				t.Errorf("logo %s: %v", l, err)
			}
		}
	}
	if p.Dependencies == nil || !strings.HasPrefix(p.Dependencies.GrafanaDependency, ">=") {
		t.Error("dependencies.grafanaDependency must be a >= range")
	}
}
