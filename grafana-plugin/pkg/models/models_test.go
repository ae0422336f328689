package models_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		json  string
		into  models.Validator
		error string
	}{
		{"empty is all defaults", ``, &models.EventsQuery{}, ""},
		{"Grafana's own fields are ignored", `{"refId": "A", "datasource": {"uid": "x"}, "intervalMs": 1000, "service": "api"}`, &models.EventsQuery{}, ""},
		{"every problem at once", `{"status": "done", "eventType": "grow", "limit": -1}`, &models.EventsQuery{},
			`limit -1 is not within 0…1000` + "\n" + `status "done" is not one of in_progress, completed, failed, rolled_back` + "\n" + `eventType "grow" is not one of scale_up, scale_down, migration, optimization`},
		{"wrong type names the field", `{"allTime": "yes"}`, &models.RecommendationsQuery{}, "query JSON: field allTime: string is not a bool"},
		{"broken JSON", `{"service": }`, &models.CostQuery{}, "query JSON: invalid character"},
		{"currency", `{"currency": "usd"}`, &models.CostBreakdownQuery{}, `currency "usd" is not an ISO 4217 code`},
		{"injection in a name", `{"service": "api' OR 1=1"}`, &models.CostQuery{}, `service "api' OR 1=1" is not a name`},
		{"horizon", `{"horizonDays": 400}`, &models.CapacityQuery{}, "horizonDays 400 is not within 0…366"},
		{"load test id", `{"loadTestId": "42"}`, &models.LoadTestResultsQuery{}, `loadTestId "42" is not a UUID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := models.Decode(json.RawMessage(tt.json), tt.into)
			if tt.error == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.error) {
				t.Fatalf("error %v, want %q", err, tt.error)
			}
		})
	}
	var q models.CapacityQuery
	if err := models.Decode(nil, &q); err != nil || q.Horizon() != 90 {
		t.Errorf("default horizon %d (%v)", q.Horizon(), err)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{
		JSONData:                json.RawMessage(`{"host": "db", "database": "wedsync", "user": "grafana", "apiUrl": "http://as:9681/", "streamIntervalSeconds": 9, "password": "oops"}`),
		DecryptedSecureJSONData: map[string]string{"password": "p@ss word", "apiToken": "tok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := s.DSN()
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://grafana:p%40ss%20word@db:5432/wedsync?application_name=wedsync-scaling-datasource&connect_timeout=5&sslmode=disable"; dsn != want {
		t.Errorf("DSN %s\nwant %s", dsn, want)
	}
	if s.APIURL != "http://as:9681" || len(s.APIProblems()) != 0 {
		t.Errorf("API %q %v", s.APIURL, s.APIProblems())
	}
	if s.StreamInterval().Seconds() != 5 {
		t.Errorf("stream interval %s, want capped at 5 s", s.StreamInterval())
	}
	other := strings.Join(s.OtherProblems(), "; ")
	if !strings.Contains(other, "streamIntervalSeconds 9 is above 5") || !strings.Contains(other, "jsonData.password is stored unencrypted") {
		t.Errorf("other problems: %s", other)
	}
	empty, _ := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: json.RawMessage(`{"apiUrl": "ftp://x", "sslMode": "sometimes"}`)})
	got := strings.Join(append(empty.DatabaseProblems(), empty.APIProblems()...), "; ")
	for _, want := range []string{"database host is not set", `sslMode "sometimes"`, `control-plane API URL "ftp://x" is not an http(s) URL`, "token is not set"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

// The recommendations query's statuses are store.RecommendationStatuses
// (the owner), no more, no fewer: its refusal lists them.
func TestRecommendationStatusesAreTheStore(t *testing.T) {
	t.Parallel()
	err := (&models.RecommendationsQuery{Status: "dismissed"}).Validate()
	want := `status "dismissed" is not one of ` + strings.Join(store.RecommendationStatuses, ", ")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v, want %s", err, want)
	}
}
