package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/wedsync/scaling/loadtest/scenario"
)

// userAgent is sent unless the scenario says otherwise.
const userAgent = "wedsync-load/1.0"

// preparedRequest is a request of the list, serialized once: every
// iteration writes the same bytes.
type preparedRequest struct {
	index   int
	name    string
	method  string
	url     *url.URL
	addr    string // host:port to dial
	hostIdx int    // index of addr in the VU's connection slots
	raw     []byte // the whole HTTP/1.1 request, headers and body
	host    string // Host header
	body    []byte
	header  http.Header
	timeout time.Duration
	head    bool
	tls     bool
	tags    map[string]string
}

func prepareRequests(sc *scenario.Scenario, env func(string) (string, bool)) ([]*preparedRequest, []string, error) {
	reqs := sc.Requests
	if len(reqs) == 0 {
		one := 1.0
		reqs = []scenario.Request{{Name: "default", Method: "GET", URL: sc.Target, Weight: &one, Timeout: ptrDur(scenario.DefaultRequestTimeout)}}
	}
	ua := sc.UserAgent
	if ua == "" {
		ua = userAgent
	}
	var hosts []string
	out := make([]*preparedRequest, len(reqs))
	for i, r := range reqs {
		raw := r.URL
		if strings.HasPrefix(raw, "/") {
			raw = strings.TrimSuffix(sc.Target, "/") + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("requests[%d].url: %w", i, err)
		}
		addr := u.Host
		if u.Port() == "" {
			if u.Scheme == "https" {
				addr = net.JoinHostPort(u.Hostname(), "443")
			} else {
				addr = net.JoinHostPort(u.Hostname(), "80")
			}
		}
		hostIdx := -1
		for j, h := range hosts {
			if h == u.Scheme+"://"+addr {
				hostIdx = j
			}
		}
		if hostIdx < 0 {
			hosts = append(hosts, u.Scheme+"://"+addr)
			hostIdx = len(hosts) - 1
		}
		p := &preparedRequest{index: i, name: r.Name, method: r.Method, url: u, addr: addr, hostIdx: hostIdx,
			body: []byte(r.Body), header: http.Header{}, head: r.Method == http.MethodHead, tls: u.Scheme == "https",
			timeout: scenario.DefaultRequestTimeout}
		if p.name == "" {
			p.name = r.URL
		}
		if r.Timeout != nil {
			p.timeout = r.Timeout.D()
		}
		host := u.Host
		keys := make([]string, 0, len(r.Headers))
		headers := make(map[string]string, len(r.Headers))
		for k, v := range r.Headers {
			v, err := scenario.ExpandHeader(v, env)
			if err != nil {
				return nil, nil, fmt.Errorf("requests[%d].headers.%s: %w", i, k, err)
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, nil, fmt.Errorf("requests[%d].headers.%s: the expanded value holds characters a header cannot", i, k)
			}
			headers[k] = v
			if strings.EqualFold(k, "Host") {
				host = v
				continue
			}
			keys = append(keys, k)
			p.header.Set(k, v)
		}
		sort.Strings(keys)
		p.host = host
		if p.header.Get("User-Agent") == "" {
			p.header.Set("User-Agent", ua)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, u.RequestURI(), host)
		if _, ok := r.Headers["User-Agent"]; !ok {
			fmt.Fprintf(&b, "User-Agent: %s\r\n", ua)
		}
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\r\n", k, headers[k])
		}
		if len(p.body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(p.body))
		}
		if sc.NoConnectionReuse {
			b.WriteString("Connection: close\r\n")
		}
		b.WriteString("\r\n")
		b.Write(p.body)
		p.raw = b.Bytes()
		p.tags = map[string]string{"name": p.name, "method": r.Method, "url": u.String()}
		for k, v := range r.Tags {
			p.tags[k] = v
		}
		out[i] = p
	}
	return out, hosts, nil
}

func ptrDur(d time.Duration) *scenario.Duration { v := scenario.Duration(d); return &v }

// client sends requests for the virtual users. Plain http:// goes through a
// lean HTTP/1.1 client, one keep-alive connection per VU and host, because
// net/http's client costs about half the throughput on a loopback target;
// https:// goes through net/http.
type client struct {
	std       *http.Client
	noReuse   bool
	stdSent   atomic.Int64 // bytes on the wire of net/http connections
	stdRecv   atomic.Int64
	dialer    net.Dialer
	transport *http.Transport
}

func newClient(sc *scenario.Scenario, maxConns int) *client {
	c := &client{noReuse: sc.NoConnectionReuse}
	c.transport = &http.Transport{
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		DisableCompression:  true,
		DisableKeepAlives:   sc.NoConnectionReuse,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: sc.InsecureSkipTLSVerify}, //nolint:gosec // the scenario asked for it, as in k6
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := c.dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countedConn{Conn: conn, sent: &c.stdSent, recv: &c.stdRecv}, nil
		},
	}
	c.std = &http.Client{Transport: c.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

func (c *client) close() { c.transport.CloseIdleConnections() }

type countedConn struct {
	net.Conn
	sent, recv *atomic.Int64
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.recv.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.sent.Add(int64(n))
	return n, err
}

// conns are one VU's connections, one slot per host. abort closes them
// from another goroutine to interrupt a request when the run stops.
type conns struct {
	mu    sync.Mutex
	dead  bool
	slots []*rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	cr countingReader
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func newConns(hosts int) *conns { return &conns{slots: make([]*rawConn, hosts)} }

func (cs *conns) abort() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.dead = true
	for _, rc := range cs.slots {
		if rc != nil && rc.c != nil {
			rc.c.Close()
		}
	}
}

func (cs *conns) closeSlot(rc *rawConn) {
	cs.mu.Lock()
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
	cs.mu.Unlock()
}

var errInterrupted = errors.New("interrupted")

// result of one request.
type outcome struct {
	status     int
	sent, recv int64
	err        error
}

// do sends one request. It never panics on what the target sends back:
// anything unexpected is an error, measured as a failed request.
func (c *client) do(ctx context.Context, cs *conns, req *preparedRequest) outcome {
	if req.tls {
		return c.doStd(ctx, req)
	}
	rc := cs.slots[req.hostIdx]
	if rc == nil {
		rc = &rawConn{}
		cs.slots[req.hostIdx] = rc
	}
	var o outcome
	for attempt := 0; ; attempt++ {
		fresh := false
		if rc.c == nil {
			dctx, cancel := context.WithTimeout(ctx, req.timeout)
			conn, err := c.dialer.DialContext(dctx, "tcp", req.addr)
			cancel()
			if err != nil {
				o.err = fmt.Errorf("dial %s: %w", req.addr, err)
				return o
			}
			cs.mu.Lock()
			if cs.dead {
				cs.mu.Unlock()
				conn.Close()
				o.err = errInterrupted
				return o
			}
			rc.c = conn
			cs.mu.Unlock()
			rc.cr.r = conn
			if rc.br == nil {
				rc.br = bufio.NewReaderSize(&rc.cr, 16<<10)
			} else {
				rc.br.Reset(&rc.cr)
			}
			fresh = true
		}
		_ = rc.c.SetDeadline(time.Now().Add(req.timeout))
		rc.cr.n = 0
		n, err := rc.c.Write(req.raw)
		o.sent += int64(n)
		keep := false
		if err == nil {
			o.status, keep, err = readResponse(rc.br, req.head)
		}
		o.recv += rc.cr.n
		if err != nil {
			cs.closeSlot(rc)
			// A kept-alive connection the server closed while idle: the
			// request never reached it, send it again on a new one.
			if !fresh && attempt == 0 && rc.cr.n == 0 && retryable(err) && (n < len(req.raw) || idempotent(req.method)) {
				o.status = 0
				continue
			}
			o.err = err
			return o
		}
		if !keep || c.noReuse {
			cs.closeSlot(rc)
		}
		return o
	}
}

func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func retryable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *client) doStd(ctx context.Context, req *preparedRequest) outcome {
	ctx, cancel := context.WithTimeout(ctx, req.timeout)
	defer cancel()
	var body io.Reader
	if len(req.body) > 0 {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url.String(), body)
	if err != nil {
		return outcome{err: err}
	}
	hr.Header = req.header.Clone()
	hr.Host = req.host
	resp, err := c.std.Do(hr)
	if err != nil {
		return outcome{err: err}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return outcome{status: resp.StatusCode, err: err}
}

// ErrBadResponse marks a response that is not HTTP/1.x.
var ErrBadResponse = errors.New("malformed HTTP response")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResponse, fmt.Sprintf(format, args...))
}

// readResponse reads one response and discards its body. keep reports
// whether the connection can carry another request.
func readResponse(br *bufio.Reader, head bool) (status int, keep bool, err error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, false, bad("status line longer than %d bytes", br.Size())
			}
			return 0, false, err
		}
		if len(line) < 13 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, false, bad("status line %q", truncate(line))
		}
		status = 0
		for _, d := range line[9:12] {
			if d < '0' || d > '9' {
				return 0, false, bad("status line %q", truncate(line))
			}
			status = status*10 + int(d-'0')
		}
		if status < 100 {
			return 0, false, bad("status %d", status)
		}
		keep = line[7] == '1'
		contentLength, chunked := int64(-1), false
		for n := 0; ; n++ {
			h, err := br.ReadSlice('\n')
			if err != nil {
				if errors.Is(err, bufio.ErrBufferFull) {
					return status, false, bad("header line longer than %d bytes", br.Size())
				}
				return status, false, err
			}
			if n > 200 {
				return status, false, bad("more than 200 header lines")
			}
			h = bytes.TrimRight(h, "\r\n")
			if len(h) == 0 {
				break
			}
			colon := bytes.IndexByte(h, ':')
			if colon <= 0 {
				return status, false, bad("header line %q", truncate(h))
			}
			name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
			switch {
			case len(name) == 14 && bytes.EqualFold(name, []byte("Content-Length")):
				v, err := strconv.ParseInt(string(value), 10, 64)
				if err != nil || v < 0 || (contentLength >= 0 && v != contentLength) {
					return status, false, bad("Content-Length %q", value)
				}
				contentLength = v
			case len(name) == 17 && bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
			case len(name) == 10 && bytes.EqualFold(name, []byte("Connection")):
				if bytes.EqualFold(value, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(value, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		switch {
		case status == http.StatusSwitchingProtocols:
			return status, false, bad("protocol switch not supported")
		case status < 200:
			continue // interim response: the real one follows
		case head || status == http.StatusNoContent || status == http.StatusNotModified:
			return status, keep, nil
		case chunked:
			return status, keep, discardChunked(br)
		case contentLength >= 0:
			_, err := br.Discard(int(contentLength))
			return status, keep, err
		}
		// No length: the body ends when the server closes.
		_, err = io.Copy(io.Discard, br)
		return status, false, err
	}
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return bad("chunk size line too long")
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return bad("chunk size %q", truncate(line))
		}
		if size == 0 {
			for { // trailers, up to the empty line
				t, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		crlf, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return bad("chunk not followed by CRLF")
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
