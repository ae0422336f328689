package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds one response page: billing pages are KiBs to a few MiB.
const maxBody = 64 << 20

// HTTPError is a non-2xx answer of a billing API. The body excerpt helps
// when a provider explains itself; it never holds our credentials, which
// travel in headers.
type HTTPError struct {
	Method, URL string // URL without its query: the query can carry ids
	Status      int
	Body        string
	RetryAfter  time.Duration // from Retry-After on 429 and 503
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// RetryAfter returns how long a source asked to be left alone, if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return he.RetryAfter, true
	}
	return 0, false
}

// do sends req and returns the response of a 2xx answer; anything else is
// an *HTTPError (the body is closed).
func do(ctx context.Context, client *http.Client, req *http.Request) (*http.Response, error) {
	req = req.WithContext(ctx)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, redact(req), err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	he := &HTTPError{Method: req.Method, URL: redact(req), Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		he.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return nil, he
}

func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery, u.User = "", nil
	return u.String()
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// readBody reads a whole response body, refusing oversized ones, and
// reports a body cut short (connection reset mid-page) as an error.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", redact(resp.Request), err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("read %s: response larger than %d bytes", redact(resp.Request), maxBody)
	}
	return b, nil
}
