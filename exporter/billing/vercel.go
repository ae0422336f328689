package billing

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// VercelConfig is the `vercel:` block of a source.
type VercelConfig struct {
	BaseURL string        `yaml:"base_url,omitempty"` // default https://api.vercel.com
	Token   config.Secret `yaml:"token"`
	TeamID  string        `yaml:"team_id"`
}

// Validate checks the block.
func (c *VercelConfig) Validate(path string) []error {
	var errs []error
	errs = appendErr(errs, validateBaseURL(path+".base_url", c.BaseURL))
	if c.Token.IsZero() {
		errs = append(errs, fmt.Errorf("%s.token: required (file or env)", path))
	}
	errs = appendErr(errs, c.Token.Validate(path+".token"))
	if c.TeamID == "" {
		errs = append(errs, fmt.Errorf("%s.team_id: required", path))
	}
	return errs
}

// Vercel reads GET /v1/billing/charges: FOCUS rows as JSON lines, one day
// per row.
type Vercel struct {
	base, token, team string
	opts              FocusOptions
	client            *http.Client
}

// NewVercel builds the source; the token is read now, once.
func NewVercel(c VercelConfig, service string, client *http.Client) (*Vercel, error) {
	tok, err := c.Token.Resolve()
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &Vercel{base: baseURL(c.BaseURL, "https://api.vercel.com"), token: tok, team: c.TeamID,
		opts: FocusOptions{Service: service}.withDefaults(), client: client}, nil
}

func (v *Vercel) Fetch(ctx context.Context, w Window) (Batch, error) {
	q := url.Values{}
	q.Set("from", w.From.UTC().Format(time.RFC3339))
	q.Set("to", w.To.UTC().Format(time.RFC3339))
	q.Set("teamId", v.team)
	req, _ := http.NewRequest(http.MethodGet, v.base+"/v1/billing/charges?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	req.Header.Set("Accept", "application/jsonl")
	resp, err := do(ctx, v.client, req)
	if err != nil {
		return Batch{}, fmt.Errorf("vercel charges: %w", err)
	}
	body, err := readBody(resp) // a stream cut short fails here, as a whole
	if err != nil {
		return Batch{}, fmt.Errorf("vercel charges: %w", err)
	}
	b, err := readFocusJSONLines(bytes.NewReader(body), "charges", v.opts)
	if err != nil {
		return Batch{}, err
	}
	// Every row is Vercel's: the service is the source's, and Vercel's
	// product (Function Duration, Fast Data Transfer, …) is the resource.
	for i := range b.Lines {
		b.Lines[i].Resource, b.Lines[i].Service = b.Lines[i].Service, v.opts.Service
	}
	return b, nil
}

// readFocusJSONLines reads FOCUS rows, one JSON object a line. A line that
// is not a JSON object is that row's error; the others stand.
func readFocusJSONLines(r io.Reader, name string, opts FocusOptions) (Batch, error) {
	var out Batch
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		where := fmt.Sprintf("%s line %d", name, n)
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			out.Errors = append(out.Errors, RowError{Where: where, Err: fmt.Errorf("not a JSON object: %v", err)})
			continue
		}
		l, errs := opts.line(newJSONRecord(where, m), where)
		out.Errors = append(out.Errors, errs...)
		if len(errs) == 0 || allKept(errs) {
			out.Lines = append(out.Lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return Batch{}, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
