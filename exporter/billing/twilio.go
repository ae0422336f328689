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

// TwilioConfig is the `twilio:` block of a source.
type TwilioConfig struct {
	BaseURL    string `yaml:"base_url,omitempty"` // default https://api.twilio.com
	AccountSID string `yaml:"account_sid"`
	// Username defaults to the account SID; set it to an API key SID to
	// authenticate with an API key and its secret.
	Username  string        `yaml:"username,omitempty"`
	AuthToken config.Secret `yaml:"auth_token"`
	// Categories to import. Twilio's daily records hold roll-ups beside
	// the leaves ("totalprice" is the sum of all, "sms" of sms-inbound and
	// sms-outbound), so importing everything would count money twice. The
	// default, [totalprice], is the account's whole cost without a
	// breakdown; list leaf categories for one.
	Categories []string `yaml:"categories,omitempty"`
	PageSize   int      `yaml:"page_size,omitempty"` // default 1000
}

// Validate checks the block.
func (c *TwilioConfig) Validate(path string) []error {
	var errs []error
	errs = appendErr(errs, validateBaseURL(path+".base_url", c.BaseURL))
	if !strings.HasPrefix(c.AccountSID, "AC") {
		errs = append(errs, fmt.Errorf("%s.account_sid: must start with AC, got %q", path, c.AccountSID))
	}
	if c.AuthToken.IsZero() {
		errs = append(errs, fmt.Errorf("%s.auth_token: required (file or env)", path))
	}
	errs = appendErr(errs, c.AuthToken.Validate(path+".auth_token"))
	if c.PageSize < 0 || c.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("%s.page_size: must be 1…1000, got %d", path, c.PageSize))
	}
	return errs
}

// Twilio reads the daily Usage Records, following next_page_uri.
type Twilio struct {
	base, sid, user, token string
	categories             map[string]bool
	pageSize               int
	service                string
	client                 *http.Client
}

// NewTwilio builds the source; the token is read now, once.
func NewTwilio(c TwilioConfig, service string, client *http.Client) (*Twilio, error) {
	tok, err := c.AuthToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("auth_token: %w", err)
	}
	t := &Twilio{base: baseURL(c.BaseURL, "https://api.twilio.com"), sid: c.AccountSID, user: c.Username, token: tok,
		categories: map[string]bool{}, pageSize: c.PageSize, service: service, client: client}
	if t.user == "" {
		t.user = c.AccountSID
	}
	if t.pageSize == 0 {
		t.pageSize = 1000
	}
	cats := c.Categories
	if len(cats) == 0 {
		cats = []string{"totalprice"}
	}
	for _, cat := range cats {
		t.categories[cat] = true
	}
	return t, nil
}

type twilioPage struct {
	UsageRecords []struct {
		Category  string  `json:"category"`
		StartDate string  `json:"start_date"`
		Usage     *string `json:"usage"`
		UsageUnit string  `json:"usage_unit"`
		Price     *string `json:"price"`
		PriceUnit string  `json:"price_unit"`
	} `json:"usage_records"`
	NextPageURI *string `json:"next_page_uri"`
	Page        int     `json:"page"`
}

func (t *Twilio) Fetch(ctx context.Context, w Window) (Batch, error) {
	q := url.Values{}
	q.Set("StartDate", w.From.UTC().Format(time.DateOnly))
	q.Set("EndDate", w.To.UTC().AddDate(0, 0, -1).Format(time.DateOnly)) // inclusive
	q.Set("PageSize", strconv.Itoa(t.pageSize))
	next := "/2010-04-01/Accounts/" + url.PathEscape(t.sid) + "/Usage/Records/Daily.json?" + q.Encode()
	var out Batch
	for n := 1; next != ""; n++ {
		if n > maxPages {
			return Batch{}, fmt.Errorf("twilio usage: more than %d pages", maxPages)
		}
		if !strings.HasPrefix(next, "/") {
			// next_page_uri is a path on the same host; anything else
			// would send our credentials elsewhere.
			return Batch{}, fmt.Errorf("twilio usage page %d: next_page_uri %q is not a path", n, next)
		}
		req, _ := http.NewRequest(http.MethodGet, t.base+next, nil)
		req.SetBasicAuth(t.user, t.token)
		req.Header.Set("Accept", "application/json")
		resp, err := do(ctx, t.client, req)
		if err != nil {
			return Batch{}, fmt.Errorf("twilio usage page %d: %w", n, err)
		}
		body, err := readBody(resp)
		if err != nil {
			return Batch{}, fmt.Errorf("twilio usage page %d: %w", n, err)
		}
		var p twilioPage
		if err := json.Unmarshal(body, &p); err != nil {
			return Batch{}, fmt.Errorf("twilio usage page %d: %w", n, err)
		}
		for i, r := range p.UsageRecords {
			if !t.categories[r.Category] {
				continue
			}
			where := fmt.Sprintf("page %d record %d (%s %s)", n, i+1, r.Category, r.StartDate)
			l, err := t.line(r.Category, r.StartDate, r.Price, r.PriceUnit, r.Usage, r.UsageUnit)
			if err != nil {
				out.Errors = append(out.Errors, RowError{Where: where, Err: err})
				continue
			}
			l.Origin = where
			out.Lines = append(out.Lines, l)
		}
		next = ""
		if p.NextPageURI != nil {
			next = *p.NextPageURI
		}
	}
	return out, nil
}

func (t *Twilio) line(category, start string, price *string, priceUnit string, usage *string, usageUnit string) (Line, error) {
	date, err := time.Parse(time.DateOnly, start)
	if err != nil {
		return Line{}, fmt.Errorf("start_date %q: not a date", start)
	}
	if price == nil || strings.TrimSpace(*price) == "" {
		return Line{}, errors.New("price missing")
	}
	amount, err := ParseAmount(*price)
	if err != nil {
		return Line{}, fmt.Errorf("price: %v", err)
	}
	l := Line{Date: date, Service: t.service, Resource: category, ChargeCategory: "Usage", Amount: amount,
		Currency: strings.ToUpper(priceUnit)}
	if usage != nil {
		if q, err := ParseAmount(*usage); err == nil {
			l.UsageQuantity = decimal.NullDecimal{Decimal: q, Valid: true}
			l.UsageUnit = usageUnit
		}
	}
	return l, nil
}
