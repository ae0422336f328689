package billing

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/config"
)

var nov = Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)}

func secretEnv(t *testing.T, value string) config.Secret {
	t.Helper()
	name := "WEDSYNC_TEST_" + strings.ToUpper(strings.NewReplacer("/", "_", " ", "_", "-", "_").Replace(t.Name()))
	t.Setenv(name, value)
	return config.Secret{Env: name}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorStrings(errs []RowError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func TestOpenAICostsRecordedPages(t *testing.T) {
	// Not parallel: t.Setenv.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		if r.URL.Path != "/v1/organization/costs" || r.Header.Get("Authorization") != "Bearer sk-admin-test" ||
			q.Get("start_time") != "1793491200" || q.Get("end_time") != "1793750400" || q.Get("bucket_width") != "1d" ||
			q.Get("group_by") != "project_id,line_item" || q.Get("limit") != "31" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		switch q.Get("page") {
		case "":
			w.Write(fixture(t, "openai-costs-page1.json"))
		case "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=":
			w.Write(fixture(t, "openai-costs-page2.json"))
		default:
			http.Error(w, "bad cursor", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	src, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL, AdminKey: secretEnv(t, "sk-admin-test")}, "openai", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Fetch(context.Background(), Window{From: nov.From, To: nov.From.AddDate(0, 0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests, want 2 pages", calls.Load())
	}
	// Amounts as JSON numbers, read exactly; the EUR line is kept here and
	// refused by ingest's currency check (with the others of its kind); a
	// negative amount (a refund) is kept and netted.
	if got := sum(b.Lines); !got.Equal(decimal.RequireFromString("6.0345689")) {
		t.Errorf("total %s from %d lines", got, len(b.Lines))
	}
	wantErrs := []string{
		"page 1 bucket 2026-11-02 result 2: amount.value missing",
	}
	if got := errorStrings(b.Errors); strings.Join(got, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("row errors:\n%s", strings.Join(got, "\n"))
	}
	first, unnamed := b.Lines[0], b.Lines[2]
	if first.Resource != "gpt-4o-2024-08-06, input" || first.Project != "proj_menu" || first.ResourceID != "proj_menu" ||
		first.Currency != "USD" || !first.Date.Equal(nov.From) || first.Service != "openai" {
		t.Errorf("first line: %+v", first)
	}
	if unnamed.Resource != "unspecified" || unnamed.Project != "" {
		t.Errorf("line without line_item or project: %+v", unnamed)
	}
	if b.All || b.Days != nil {
		t.Errorf("an API batch replaces its window: %+v", b)
	}
}

// API errors, 429s and pages cut short fail the source as a whole, with the
// provider's words and its Retry-After.
func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     string
		retry    time.Duration
		minCalls int32
	}{
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			http.Error(w, `{"error":{"message":"Rate limit reached"}}`, http.StatusTooManyRequests)
		}, `openai costs page 1: GET http://HOST/v1/organization/costs: 429 Too Many Requests (retry after 2m0s): {"error":{"message":"Rate limit reached"}}`, 2 * time.Minute, 1},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"Incorrect API key provided"}}`, http.StatusUnauthorized)
		}, `openai costs page 1: GET http://HOST/v1/organization/costs: 401 Unauthorized: {"error":{"message":"Incorrect API key provided"}}`, 0, 1},
		{"half-written second page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") == "" {
				w.Write(fixture(t, "openai-costs-page1.json"))
				return
			}
			b := fixture(t, "openai-costs-page2.json")
			w.Write(b[:len(b)/2])
		}, "openai costs page 2: unexpected end of JSON input", 0, 2},
		{"body cut by the server", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`{"object":"page","data":[`))
		}, "openai costs page 1: read http://HOST/v1/organization/costs: unexpected EOF", 0, 1},
		{"has_more without a cursor", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"object":"page","data":[],"has_more":true,"next_page":null}`))
		}, "openai costs page 1: has_more without next_page", 0, 1},
		{"not a page", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"error":{"message":"oops"}}`))
		}, `openai costs page 1: object "", want "page"`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			src, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL, AdminKey: secretEnv(t, "sk-admin-test")}, "openai", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Fetch(context.Background(), nov)
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.ReplaceAll(err.Error(), strings.TrimPrefix(srv.URL, "http://"), "HOST"); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			if strings.Contains(err.Error(), "sk-admin-test") {
				t.Error("the key leaked into the error")
			}
			if ra, _ := RetryAfter(err); ra != tt.retry {
				t.Errorf("retry after %v, want %v", ra, tt.retry)
			}
			if calls.Load() < tt.minCalls {
				t.Errorf("%d calls", calls.Load())
			}
		})
	}
	// A timeout is the context's.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	src, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL, AdminKey: secretEnv(t, "k")}, "openai", srv.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := src.Fetch(ctx, nov); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"30": 30 * time.Second, "": 0, "-5": 0, "soon": 0,
		"Sun, 01 Nov 2026 12:05:00 GMT": 5 * time.Minute, "Sun, 01 Nov 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func TestVercelChargesRecorded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/billing/charges" || r.Header.Get("Authorization") != "Bearer vc-test" || q.Get("teamId") != "team_wedsync" ||
			q.Get("from") != "2026-11-01T00:00:00Z" || q.Get("to") != "2026-11-04T00:00:00Z" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/jsonl")
		w.Write(fixture(t, "vercel-charges.jsonl"))
	}))
	defer srv.Close()
	src, err := NewVercel(VercelConfig{BaseURL: srv.URL, Token: secretEnv(t, "vc-test"), TeamID: "team_wedsync"}, "vercel", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Fetch(context.Background(), nov)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(b.Lines); !got.Equal(decimal.RequireFromString("29.15")) || len(b.Lines) != 5 {
		t.Errorf("total %s from %d lines", got, len(b.Lines))
	}
	wantErrs := []string{
		"charges line 7: not a JSON object: unexpected EOF",
		"charges line 8 BilledCost: BilledCost: missing (FOCUS requires it)",
	}
	if got := errorStrings(b.Errors); strings.Join(got, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("row errors:\n%s", strings.Join(got, "\n"))
	}
	fn := b.Lines[0]
	if fn.Service != "vercel" || fn.Resource != "Function Duration" || fn.Project != "prj_web" || fn.Tags["ProjectName"] != "wedsync-web" ||
		fn.UsageUnit != "GB-Hours" || !fn.UsageQuantity.Decimal.Equal(decimal.NewFromInt(125)) || !fn.Date.Equal(nov.From) {
		t.Errorf("first line: %+v", fn)
	}
	if c := b.Lines[4]; c.ChargeCategory != "Credit" || !c.Amount.Equal(decimal.NewFromInt(-5)) {
		t.Errorf("credit: %+v", c)
	}
}

func TestTwilioUsageRecordedPages(t *testing.T) {
	const sid = "AC0123456789abcdef0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		q := r.URL.Query()
		if !ok || user != sid || pass != "tw-test" || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Usage/Records/Daily.json" ||
			q.Get("StartDate") != "2026-11-01" || q.Get("EndDate") != "2026-11-03" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if q.Get("PageToken") == "PAAC0123" {
			w.Write(fixture(t, "twilio-usage-daily-page1.json"))
			return
		}
		w.Write(fixture(t, "twilio-usage-daily-page0.json"))
	}))
	defer srv.Close()
	tests := []struct {
		name       string
		categories []string
		total      string
		lines      int
		errs       []string
	}{
		{"default: totalprice only", nil, "6.0075", 2, nil},
		{"leaf categories", []string{"sms-outbound", "phonenumbers"}, "4.4275", 2,
			[]string{"page 2 record 3 (sms-outbound 2026-11-02): price missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewTwilio(TwilioConfig{BaseURL: srv.URL, AccountSID: sid, AuthToken: secretEnv(t, "tw-test"), Categories: tt.categories}, "twilio", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.Fetch(context.Background(), Window{From: nov.From, To: nov.To})
			if err != nil {
				t.Fatal(err)
			}
			if got := sum(b.Lines); !got.Equal(decimal.RequireFromString(tt.total)) || len(b.Lines) != tt.lines {
				t.Errorf("total %s from %d lines, want %s from %d", got, len(b.Lines), tt.total, tt.lines)
			}
			if got := errorStrings(b.Errors); strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("row errors: %q", got)
			}
		})
	}
	src, _ := NewTwilio(TwilioConfig{BaseURL: srv.URL, AccountSID: sid, AuthToken: secretEnv(t, "tw-test"), Categories: []string{"sms-outbound"}}, "twilio", srv.Client())
	b, _ := src.Fetch(context.Background(), nov)
	if l := b.Lines[0]; l.Resource != "sms-outbound" || l.UsageUnit != "segments" || !l.UsageQuantity.Decimal.Equal(decimal.NewFromInt(55)) || l.Currency != "USD" {
		t.Errorf("sms line: %+v", l)
	}

	// A next_page_uri pointing at another host would carry our
	// credentials there.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"usage_records": []any{}, "next_page_uri": "https://evil.example/steal"})
	}))
	defer evil.Close()
	src, _ = NewTwilio(TwilioConfig{BaseURL: evil.URL, AccountSID: sid, AuthToken: secretEnv(t, "tw-test")}, "twilio", evil.Client())
	if _, err := src.Fetch(context.Background(), nov); err == nil || !strings.Contains(err.Error(), "is not a path") {
		t.Errorf("foreign next_page_uri: %v", err)
	}
}

type fakeMeter struct{ size, mau int64 }

func (m fakeMeter) DatabaseSizeBytes(context.Context) (int64, error)  { return m.size, nil }
func (m fakeMeter) MonthlyActiveUsers(context.Context) (int64, error) { return m.mau, nil }

func supabasePricing() SupabasePricing {
	d := decimal.RequireFromString
	return SupabasePricing{
		Plans: map[string]SupabasePlan{"pro": {Monthly: d("25"), ComputeCredit: d("10"),
			Included: SupabaseQuantities{DatabaseGB: d("8"), EgressGB: d("250"), MAU: d("100000")}}},
		Compute: map[string]decimal.Decimal{"ci_micro": d("10"), "ci_small": d("15"), "ci_medium": d("60")},
		Overage: SupabaseQuantities{DatabaseGB: d("0.125"), EgressGB: d("0.09"), MAU: d("0.00325")},
	}
}

// The estimate against a recorded invoice: how close it comes is what the
// exporter shows as wedsync_cost_estimate_error_ratio.
func TestSupabaseEstimateAgainstRecordedInvoice(t *testing.T) {
	t.Parallel()
	var inv struct {
		Usage struct {
			ComputeVariant string          `json:"compute_variant"`
			DatabaseGB     decimal.Decimal `json:"database_gb"`
			EgressGB       decimal.Decimal `json:"egress_gb"`
			MAU            decimal.Decimal `json:"mau"`
		} `json:"usage"`
		Lines []struct {
			Amount decimal.Decimal `json:"amount"`
		} `json:"lines"`
		Total decimal.Decimal `json:"total"`
	}
	if err := json.Unmarshal(fixture(t, "supabase-invoice-2026-10.json"), &inv); err != nil {
		t.Fatal(err)
	}
	lineSum := decimal.Zero
	for _, l := range inv.Lines {
		lineSum = lineSum.Add(l.Amount)
	}
	if !lineSum.Equal(inv.Total) {
		t.Fatalf("fixture lines sum to %s, total says %s", lineSum, inv.Total)
	}
	items, err := supabasePricing().EstimateMonth("pro", SupabaseUsage{ComputeVariant: inv.Usage.ComputeVariant,
		DatabaseGB: inv.Usage.DatabaseGB, EgressGB: inv.Usage.EgressGB, MAU: inv.Usage.MAU})
	if err != nil {
		t.Fatal(err)
	}
	est := decimal.Zero
	for _, it := range items {
		est = est.Add(it.Amount)
	}
	// 25 + (15 − 10) + 1.5 × 0.125 + 12 × 0.09 + 0 = 31.2675
	if !est.Equal(decimal.RequireFromString("31.2675")) {
		t.Errorf("estimate %s", est)
	}
	errRatio := est.Sub(inv.Total).Div(inv.Total).Abs()
	if errRatio.GreaterThan(decimal.RequireFromString("0.02")) {
		t.Errorf("estimate %s is %s%% off the invoice's %s", est, errRatio.Shift(2).StringFixed(2), inv.Total)
	}
	t.Logf("estimate %s vs invoice %s: %s%% off (compute is billed hourly)", est, inv.Total, errRatio.Shift(2).StringFixed(2))
}

func TestSupabaseAddonsRecorded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/projects/abcdefghijklmnopqrst/billing/addons" || r.Header.Get("Authorization") != "Bearer sbp-test" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		w.Write(fixture(t, "supabase-addons.json"))
	}))
	defer srv.Close()
	cfg := SupabaseConfig{BaseURL: srv.URL, AccessToken: secretEnv(t, "sbp-test"), ProjectRef: "abcdefghijklmnopqrst", Plan: "pro",
		Pricing: supabasePricing(), EgressGBPerDay: decimal.RequireFromString("10")}
	if errs := cfg.Validate("sources[0].supabase"); len(errs) > 0 {
		t.Fatal(errs)
	}
	src, err := NewSupabase(cfg, "supabase", fakeMeter{size: 12 << 30, mau: 100_400}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	src.now = func() time.Time { return time.Date(2026, 11, 17, 15, 4, 0, 0, time.UTC) }
	b, err := src.Fetch(context.Background(), nov)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)
	if len(b.Days) != 1 || !b.Days[0].Equal(today) {
		t.Errorf("an estimate replaces today only: %v", b.Days)
	}
	// A month: 25 + 5 + 4 GB × 0.125 + 50 GB × 0.09 + 400 × 0.00325 = 36.3, over 30 days:
	// 1.21 a day, give or take the last place of each line, and the
	// month's days sum to the month exactly.
	if got := sum(b.Lines); got.Sub(decimal.RequireFromString("1.21")).Abs().GreaterThan(decimal.RequireFromString("0.000005")) {
		t.Errorf("today's estimate %s: %+v", got, b.Lines)
	}
	month := decimal.Zero
	for d := 1; d <= 30; d++ {
		src.now = func() time.Time { return time.Date(2026, 11, d, 15, 4, 0, 0, time.UTC) }
		day, err := src.Fetch(context.Background(), nov)
		if err != nil {
			t.Fatal(err)
		}
		month = month.Add(sum(day.Lines))
	}
	if !month.Equal(decimal.RequireFromString("36.3")) {
		t.Errorf("the month's days sum to %s, want 36.3", month)
	}
	src.now = func() time.Time { return time.Date(2026, 11, 17, 15, 4, 0, 0, time.UTC) }
	byResource := map[string]Line{}
	for _, l := range b.Lines {
		byResource[l.Resource] = l
	}
	if c := byResource["compute"]; c.ResourceID != "ci_small" || c.UsageQuantity.Valid {
		t.Errorf("compute line: %+v", c)
	}
	if e := byResource["egress"]; !e.UsageQuantity.Decimal.Equal(decimal.NewFromInt(10)) || e.UsageUnit != "GB" {
		t.Errorf("egress line: %+v", e)
	}

	bad := cfg
	bad.Pricing.Compute = map[string]decimal.Decimal{"ci_micro": decimal.NewFromInt(10)}
	src, _ = NewSupabase(bad, "supabase", nil, srv.Client())
	if _, err := src.Fetch(context.Background(), nov); err == nil || !strings.Contains(err.Error(), `compute variant "ci_small" has no price`) {
		t.Errorf("unpriced variant: %v", err)
	}
}

func TestManualEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "manual.yml")
	if err := os.WriteFile(file, []byte(`entries:
  - {date: 2026-11-01, service: domains, resource: wedsync.com, amount: 12.00, team: platform, description: renewal}
  - {date: 2026-11-31, service: support, amount: 5}
  - {date: 2026-11-02, service: support, amount: -5}
  - {date: 2026-11-02, service: support, charge_category: Credit, amount: -5.25}
  - {date: 2026-11-02, service: support, amount: 1e400}
  - {date: 2026-11-02, service: support, amount: 0.0000000000000000000000000000001}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	one := decimal.RequireFromString("0.10")
	src := NewManual(ManualConfig{File: file, Entries: []ManualEntry{{Date: "2026-11-03", Service: "misc", Amount: &one, ChargeCategory: "usage"}}})
	b, err := src.Fetch(context.Background(), nov)
	if err != nil {
		t.Fatal(err)
	}
	// A negative purchase (a refund) is kept: 12 + (−5) + (−5.25) + 0.10.
	if !b.All || len(b.Lines) != 4 || !sum(b.Lines).Equal(decimal.RequireFromString("1.85")) {
		t.Errorf("batch: all %v, %d lines, total %s", b.All, len(b.Lines), sum(b.Lines))
	}
	wantErrs := []string{
		file + `: entries[1]: date: "2026-11-31" is not YYYY-MM-DD`,
		file + ": entries[4]: amount: 401 integer digits, more than 15 (overflow)",
		file + ": entries[5]: amount: 31 decimal places, more than 30",
	}
	if got := errorStrings(b.Errors); strings.Join(got, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("row errors:\n%s", strings.Join(got, "\n"))
	}
	if l := b.Lines[1]; l.Team != "platform" || l.Tags["description"] != "renewal" || l.ChargeCategory != "Purchase" {
		t.Errorf("domain line: %+v", l)
	}
	if err := os.WriteFile(file, []byte("entries: [{date: 2026-11-01, servce: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background(), nov); err == nil || !strings.Contains(err.Error(), "field servce not found") {
		t.Errorf("a broken file must fail the source: %v", err)
	}
	cfg := ManualConfig{Entries: []ManualEntry{{Date: "x"}}}
	if errs := cfg.Validate("sources[5].manual"); len(errs) != 1 ||
		errs[0].Error() != `sources[5].manual.entries[0]: date: "x" is not YYYY-MM-DD; service: required; amount: required` {
		t.Errorf("validate: %v", errs)
	}
}
