package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// controlPlane calls the admin API of wedsync-autoscaler with the
// configured bearer token (a secure field). It is the only way the plugin
// acts: approve, implement, roll back or retry an event, start or cancel a
// load test.
type controlPlane struct {
	base   string
	token  string
	client *http.Client
}

// apiError is the admin API's error shape, also used for the plugin's own
// errors on resource calls so that the frontend reads one shape.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
		State   string `json:"state,omitempty"`
	} `json:"error"`
}

func errorBody(code, msg string) []byte {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	b, _ := json.Marshal(e)
	return b
}

// errAPIUnreachable marks a transport failure (refused, timed out).
var errAPIUnreachable = errors.New("control-plane API unreachable")

// maxAPIBody bounds what is read back from the API.
const maxAPIBody = 4 << 20

// do sends one request and returns the status and body. A transport failure
// is errAPIUnreachable; any HTTP answer is returned as it is.
func (c *controlPlane) do(ctx context.Context, method, path string, body []byte, idempotencyKey string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("control-plane API request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", errAPIUnreachable, method, c.base+path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the answer to %s %s: %w", errAPIUnreachable, method, path, err)
	}
	return resp.StatusCode, b, nil
}

// getJSON reads a viewer route into out; a non-2xx answer is an error that
// carries the API's own message.
func (c *controlPlane) getJSON(ctx context.Context, path string, out any) error {
	status, body, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("control-plane API GET %s: %s", path, describeAPIError(status, body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("control-plane API GET %s: answer is not the expected JSON: %w", path, err)
	}
	return nil
}

// describeAPIError turns an error answer into one line for people.
func describeAPIError(status int, body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return fmt.Sprintf("%d %s: %s", status, e.Error.Code, e.Error.Message)
	}
	switch status {
	case http.StatusUnauthorized:
		return "401: the API token was refused (check the secure field apiToken)"
	case http.StatusForbidden:
		return "403: the API token's role may not do this"
	}
	b := bytes.TrimSpace(body)
	if len(b) > 200 {
		b = append(b[:200:200], "…"...)
	}
	return fmt.Sprintf("%d %s %s", status, http.StatusText(status), b)
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

func newControlPlane(base, token string, timeout time.Duration) *controlPlane {
	return &controlPlane{base: base, token: token, client: &http.Client{Timeout: timeout}}
}
