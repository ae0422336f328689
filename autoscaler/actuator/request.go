package actuator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// jsonRequest builds a request to a JSON API, with payload (if any) as the
// body. The cloud actuators share it.
func jsonRequest(ctx context.Context, method string, u *url.URL, payload any) (*http.Request, error) {
	var rd io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact(u.String()), err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wedsync-autoscaler")
	return req, nil
}

func roundTrip(client *http.Client, req *http.Request) ([]byte, *http.Response, error) {
	u := redact(req.URL.String())
	resp, err := client.Do(req)
	if err != nil {
		// The url.Error repeats the URL; keep ours, redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", req.Method, u, err)
	}
	return data, resp, nil
}
