package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/core/config"
)

func TestQueries(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(base + `    queue: {arrival_rate_query: "rate(jobs[1m])", backlog_query: "jobs_waiting", per_worker_rate: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Queries()
	want := []Reference{{"services.api.metrics[0].query", "up"},
		{"services.api.queue.arrival_rate_query", "rate(jobs[1m])"}, {"services.api.queue.backlog_query", "jobs_waiting"}}
	if !slices.Equal(got, want) {
		t.Fatalf("Queries() = %v, want %v", got, want)
	}
}

// Every credential file an actuator config can name — a config.Secret, or
// a path field (kubeconfig, *_file) — is listed by SecretFiles: a new
// actuator or secret field fails here until check-config knows of it.
func TestSecretFilesCoverActuators(t *testing.T) {
	t.Parallel()
	secretType := reflect.TypeFor[config.Secret]()
	ct := reflect.TypeFor[actuator.Config]()
	checked := 0
	for i := range ct.NumField() {
		sec := ct.Field(i)
		if sec.Type.Kind() != reflect.Pointer || sec.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		st := sec.Type.Elem()
		for j := range st.NumField() {
			fd := st.Field(j)
			tag := yamlName(fd)
			var field string
			v := reflect.New(st)
			switch {
			case fd.Type == secretType:
				v.Elem().Field(j).Set(reflect.ValueOf(config.Secret{File: "/run/x"}))
				field = tag + ".file"
			case fd.Type.Kind() == reflect.String && (tag == "kubeconfig" || strings.HasSuffix(tag, "_file")):
				v.Elem().Field(j).SetString("/run/x")
				field = tag
			default:
				continue
			}
			var c actuator.Config
			reflect.ValueOf(&c).Elem().Field(i).Set(v)
			f := &File{Services: map[string]*Service{"api": {Actuator: c}}}
			want := Reference{"services.api.actuator." + yamlName(sec) + "." + field, "/run/x"}
			if got := f.SecretFiles(); !slices.Contains(got, want) {
				t.Errorf("SecretFiles() = %v, missing %v", got, want)
			}
			checked++
		}
	}
	if checked < 3 { // http.bearer_token, supabase.access_token, kubernetes.kubeconfig
		t.Fatalf("checked %d credential fields, want at least 3", checked)
	}
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
