package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/config"
)

// OpenAIConfig is the `openai:` block of a source: the organization Costs
// API, read with an admin key.
type OpenAIConfig struct {
	BaseURL  string        `yaml:"base_url,omitempty"` // default https://api.openai.com
	AdminKey config.Secret `yaml:"admin_key"`
	// PageLimit is how many daily buckets one page holds (1…180, default 31).
	PageLimit int `yaml:"page_limit,omitempty"`
}

// Validate checks the block.
func (c *OpenAIConfig) Validate(path string) []error {
	var errs []error
	errs = appendErr(errs, validateBaseURL(path+".base_url", c.BaseURL))
	if c.AdminKey.IsZero() {
		errs = append(errs, fmt.Errorf("%s.admin_key: required (file or env)", path))
	}
	errs = appendErr(errs, c.AdminKey.Validate(path+".admin_key"))
	if c.PageLimit < 0 || c.PageLimit > 180 {
		errs = append(errs, fmt.Errorf("%s.page_limit: must be 1…180, got %d", path, c.PageLimit))
	}
	return errs
}

// OpenAI reads GET /v1/organization/costs, one bucket a day, grouped by
// project and line item, following next_page until has_more is false.
type OpenAI struct {
	base    string
	key     string
	limit   int
	service string
	client  *http.Client
}

// NewOpenAI builds the source; the key is read now, once.
func NewOpenAI(c OpenAIConfig, service string, client *http.Client) (*OpenAI, error) {
	key, err := c.AdminKey.Resolve()
	if err != nil {
		return nil, fmt.Errorf("admin_key: %w", err)
	}
	o := &OpenAI{base: baseURL(c.BaseURL, "https://api.openai.com"), key: key, limit: c.PageLimit, service: service, client: client}
	if o.limit == 0 {
		o.limit = 31
	}
	return o, nil
}

type openAIPage struct {
	Object string `json:"object"`
	Data   []struct {
		StartTime int64 `json:"start_time"`
		EndTime   int64 `json:"end_time"`
		Results   []struct {
			Amount *struct {
				Value    *decimal.Decimal `json:"value"`
				Currency string           `json:"currency"`
			} `json:"amount"`
			LineItem  *string `json:"line_item"`
			ProjectID *string `json:"project_id"`
		} `json:"results"`
	} `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
}

// maxPages bounds a pagination that never ends (a provider bug would
// otherwise spend the whole timeout on metered calls).
const maxPages = 1000

func (o *OpenAI) Fetch(ctx context.Context, w Window) (Batch, error) {
	var out Batch
	page := ""
	for n := 1; ; n++ {
		if n > maxPages {
			return Batch{}, fmt.Errorf("openai costs: more than %d pages", maxPages)
		}
		q := url.Values{}
		q.Set("start_time", strconv.FormatInt(w.From.Unix(), 10))
		q.Set("end_time", strconv.FormatInt(w.To.Unix(), 10))
		q.Set("bucket_width", "1d")
		q.Set("group_by", "project_id,line_item")
		q.Set("limit", strconv.Itoa(o.limit))
		if page != "" {
			q.Set("page", page)
		}
		req, _ := http.NewRequest(http.MethodGet, o.base+"/v1/organization/costs?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+o.key)
		req.Header.Set("Accept", "application/json")
		resp, err := do(ctx, o.client, req)
		if err != nil {
			return Batch{}, fmt.Errorf("openai costs page %d: %w", n, err)
		}
		body, err := readBody(resp)
		if err != nil {
			return Batch{}, fmt.Errorf("openai costs page %d: %w", n, err)
		}
		var p openAIPage
		if err := json.Unmarshal(body, &p); err != nil {
			// A page cut short or garbled: the window is not known whole.
			return Batch{}, fmt.Errorf("openai costs page %d: %w", n, err)
		}
		if p.Object != "page" {
			return Batch{}, fmt.Errorf("openai costs page %d: object %q, want \"page\"", n, p.Object)
		}
		for _, b := range p.Data {
			date := time.Unix(b.StartTime, 0).UTC()
			for i, r := range b.Results {
				where := fmt.Sprintf("page %d bucket %s result %d", n, date.Format(time.DateOnly), i+1)
				if r.Amount == nil || r.Amount.Value == nil {
					out.Errors = append(out.Errors, RowError{Where: where, Err: errors.New("amount.value missing")})
					continue
				}
				l := Line{
					Date: Day(date), Service: o.service, Resource: deref(r.LineItem, "unspecified"),
					ResourceID: deref(r.ProjectID, ""), Project: deref(r.ProjectID, ""),
					ChargeCategory: "Usage", Amount: *r.Amount.Value, Currency: strings.ToUpper(r.Amount.Currency), Origin: where,
				}
				if err := CheckAmount(l.Amount); err != nil {
					out.Errors = append(out.Errors, RowError{Where: where, Err: fmt.Errorf("amount.value %s: %v", l.Amount, err)})
					continue
				}
				out.Lines = append(out.Lines, l)
			}
		}
		if !p.HasMore {
			return out, nil
		}
		if p.NextPage == nil || *p.NextPage == "" {
			return Batch{}, fmt.Errorf("openai costs page %d: has_more without next_page", n)
		}
		page = *p.NextPage
	}
}

func deref(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

func baseURL(v, def string) string {
	if v == "" {
		v = def
	}
	return strings.TrimSuffix(v, "/")
}

func validateBaseURL(path, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: must be an absolute http or https URL, got %q", path, v)
	}
	if u.User != nil {
		return fmt.Errorf("%s: must not carry credentials (use the secret fields)", path)
	}
	return nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}
