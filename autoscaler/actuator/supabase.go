package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// What this file relies on, checked against the Management API's OpenAPI
// document ("Supabase API (v1)", packages/api/src/generated/openapi.json in
// github.com/supabase/cli, June 2026) and the reference pages at
// supabase.com/docs/reference/api:
//
//   - GET /v1/projects/{ref} → V1ProjectWithDatabaseResponse: ref (20
//     lowercase letters), name, region, organization_slug, status in
//     ACTIVE_HEALTHY, ACTIVE_UNHEALTHY, COMING_UP, RESTARTING, RESIZING,
//     UPGRADING, RESTORING, INACTIVE, PAUSING, GOING_DOWN, … .
//   - GET /v1/projects/{ref}/billing/addons → {selected_addons: [{type,
//     variant: {id, name, price}}], available_addons: [{type, name,
//     variants: [{id, name, price}]}]}; the compute_instance variant ids
//     are ci_micro … ci_16xlarge, ci_24xlarge…, ci_48xlarge…. The
//     operation's description calls the selected one "the active compute
//     instance size".
//   - PATCH /v1/projects/{ref}/billing/addons {"addon_type":
//     "compute_instance", "addon_variant": "ci_small"} → 200 {}. The change
//     restarts the project (minutes); the status passes through
//     RESIZING/RESTARTING/COMING_UP (Supabase's own Terraform provider
//     waits for ACTIVE_* after the PATCH the same way).
//   - POST /v1/projects/{ref}/read-replicas/setup {"read_replica_region":
//     "us-west-1"} → 201, and POST …/read-replicas/remove
//     {"database_identifier": "<ref>-rr-us-west-1-abcde"} → 201 (both
//     marked [Beta]).
//   - There is no GET /v1/projects/{ref}/databases in the public v1 API (it
//     exists only in the dashboard's private API). The documented listing
//     of a project's databases with their status is GET
//     /v1/organizations/{slug}/projects (offset/limit pagination, limit ≤
//     100): projects[].databases[] = {identifier, type PRIMARY |
//     READ_REPLICA, status (… INIT_READ_REPLICA, INIT_READ_REPLICA_FAILED
//     …), region}. The token then also needs organization_projects_read.
//   - Errors: 401, 403, 429, 500 are documented for every operation; bodies
//     are {"message": "..."}. 404 and 409 are not in the document but are
//     handled the same way. Rate limit: 120 requests per minute per user
//     and project; a 429 lasts for the rest of the minute and responses
//     carry X-RateLimit-Reset (seconds) — hence min_read_interval.

// DefaultSupabaseAPIURL is the Management API's base URL.
const DefaultSupabaseAPIURL = "https://api.supabase.com"

// Resources a Supabase actuator can scale.
const (
	SupabaseCompute      = "compute"
	SupabaseReadReplicas = "read_replicas"
)

// ErrInProgress marks a Current error that only says a change is still
// under way (a project restarting, a replica coming up): the caller keeps
// polling, and a reconcile pass tries again later.
var ErrInProgress = errors.New("change in progress")

// SupabaseConfig drives a Supabase project through the Management API:
// the primary database's compute size (resource: compute; the state is a
// tier such as ci_small) or the number of read replicas (resource:
// read_replicas; the state is a replica count).
type SupabaseConfig struct {
	APIURL      string        `yaml:"api_url,omitempty"` // default: https://api.supabase.com
	ProjectRef  string        `yaml:"project_ref"`
	Resource    string        `yaml:"resource"` // compute or read_replicas
	AccessToken config.Secret `yaml:"access_token"`
	// Region is where new read replicas go; default: the project's own.
	Region string `yaml:"region,omitempty"`
	// MinReadInterval: Current answers from its last reading within this
	// interval. The scaler polls every half second while a change settles,
	// and a compute change takes minutes; the API allows 120 requests a
	// minute per project.
	MinReadInterval config.Duration `yaml:"min_read_interval,omitempty"` // default: 10s
	Timeout         config.Duration `yaml:"timeout,omitempty"`           // default: 30s
}

var (
	supabaseRefRe    = regexp.MustCompile(`^[a-z]{20}$`)
	supabaseRegionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Validate returns every problem, each prefixed with path.
func (c *SupabaseConfig) Validate(path string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.APIURL != "" {
		if err := checkAPIURL(c.APIURL); err != nil {
			add("%s.api_url: %v", path, err)
		}
	}
	switch {
	case c.ProjectRef == "":
		add("%s.project_ref: required", path)
	case !supabaseRefRe.MatchString(c.ProjectRef):
		add("%s.project_ref: %q is not a project ref (20 lowercase letters, as in <ref>.supabase.co)", path, c.ProjectRef)
	}
	switch c.Resource {
	case SupabaseCompute:
		if c.Region != "" {
			add("%s.region: only read_replicas use a region", path)
		}
	case SupabaseReadReplicas:
		if c.Region != "" && !supabaseRegionRe.MatchString(c.Region) {
			add("%s.region: %q is not a region such as us-east-1", path, c.Region)
		}
	case "":
		add("%s.resource: required (compute or read_replicas)", path)
	default:
		add("%s.resource: %q is not compute or read_replicas", path, c.Resource)
	}
	if c.AccessToken.IsZero() {
		add("%s.access_token: required (file or env)", path)
	} else if err := c.AccessToken.Validate(path + ".access_token"); err != nil {
		errs = append(errs, err)
	}
	if c.MinReadInterval < 0 {
		add("%s.min_read_interval: must not be negative", path)
	}
	if c.Timeout < 0 {
		add("%s.timeout: must not be negative", path)
	}
	return errs
}

// checkAPIURL accepts https, and plain http only to a loopback host: the
// URL receives a bearer token that can resize or delete databases.
func checkAPIURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", redact(raw))
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed; use access_token")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q: plain http is only allowed to a loopback address; the token must not travel in clear", redact(raw))
		}
	}
	return nil
}

// Supabase is the supabase actuator.
type Supabase struct {
	cfg    SupabaseConfig
	base   *url.URL
	client *http.Client
	logger *slog.Logger

	// restartGrace bounds how long Current waits, after a compute PATCH, to
	// see the project leave ACTIVE_*: right after the PATCH the add-on
	// already names the new size while the project has not begun to
	// restart, and reporting the tier then would settle the event before
	// the change is real.
	restartGrace time.Duration
	now          func() time.Time

	mu           sync.Mutex // serialises API use; guards the fields below
	token        string
	cached       *supabaseReading
	pending      *computeChange
	limitedUntil time.Time
	limitErr     *StatusError
}

type supabaseReading struct {
	at    time.Time
	state State
	err   error
}

type computeChange struct {
	variant     string
	at          time.Time
	restartSeen bool
}

var _ Actuator = (*Supabase)(nil)

// NewSupabase builds a supabase actuator; the access token is read here,
// and read again after the API refuses it (a mounted secret may rotate).
func NewSupabase(c SupabaseConfig, logger *slog.Logger) (*Supabase, error) {
	if c.APIURL == "" {
		c.APIURL = DefaultSupabaseAPIURL
	}
	if c.MinReadInterval == 0 {
		c.MinReadInterval = config.Duration(10 * time.Second)
	}
	if c.Timeout == 0 {
		c.Timeout = config.Duration(30 * time.Second)
	}
	base, err := url.Parse(strings.TrimRight(c.APIURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("api_url: %w", err)
	}
	token, err := c.AccessToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("access_token: %w", err)
	}
	if token == "" {
		return nil, errors.New("access_token: required")
	}
	return &Supabase{
		cfg:          c,
		base:         base,
		client:       &http.Client{Timeout: c.Timeout.D()},
		logger:       logger,
		restartGrace: time.Minute,
		now:          time.Now,
		token:        token,
	}, nil
}

// Current reads the effective state: the compute size once the project
// runs on it, or the number of serving read replicas. While a change is
// under way it returns an error wrapping ErrInProgress.
func (s *Supabase) Current(ctx context.Context) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if r := s.cached; r != nil && now.Sub(r.at) < s.cfg.MinReadInterval.D() {
		return r.state, r.err
	}
	var st State
	var err error
	if s.cfg.Resource == SupabaseReadReplicas {
		st, err = s.currentReplicas(ctx)
	} else {
		st, err = s.currentCompute(ctx)
	}
	if ctx.Err() == nil {
		s.cached = &supabaseReading{at: now, state: st, err: err}
	}
	return st, err
}

// Apply sets the compute size or the replica count. It returns once the
// API has accepted the change; Current shows when it has taken effect.
func (s *Supabase) Apply(ctx context.Context, target State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached = nil
	if s.cfg.Resource == SupabaseReadReplicas {
		return s.applyReplicas(ctx, target)
	}
	return s.applyCompute(ctx, target)
}

// --- compute ---------------------------------------------------------------

func (s *Supabase) currentCompute(ctx context.Context) (State, error) {
	p, err := s.project(ctx)
	if err != nil {
		return State{}, err
	}
	if err := s.checkRunning(p); err != nil {
		if s.pending != nil && errors.Is(err, ErrInProgress) {
			s.pending.restartSeen = true
		}
		return State{}, err
	}
	addons, err := s.addons(ctx)
	if err != nil {
		return State{}, err
	}
	variant := addons.selectedCompute()
	if variant == "" {
		// Free-plan projects run without a compute add-on and cannot be
		// resized through this API.
		return State{}, fmt.Errorf("supabase project %s has no compute_instance add-on selected; its compute cannot be managed through add-ons", s.cfg.ProjectRef)
	}
	if c := s.pending; c != nil {
		age := s.now().Sub(c.at)
		switch {
		case c.restartSeen || age >= s.restartGrace:
			// Restarted and running again (or it never restarted, which a
			// minute of ACTIVE_HEALTHY readings shows): the tier is real.
			s.pending = nil
		case variant == c.variant:
			return State{}, fmt.Errorf("supabase project %s: %w: compute %s requested %s ago; waiting for the project to restart on it",
				s.cfg.ProjectRef, ErrInProgress, c.variant, age.Round(time.Second))
		}
		// Otherwise the add-on still names the old size: that is the
		// effective state, and the change is still to come.
	}
	return State{Tier: variant}, nil
}

func (s *Supabase) applyCompute(ctx context.Context, target State) error {
	if target.Tier == "" {
		return fmt.Errorf("supabase project %s: resource compute is set by tier, got %s", s.cfg.ProjectRef, target)
	}
	p, err := s.project(ctx)
	if err != nil {
		return err
	}
	addons, err := s.addons(ctx)
	if err != nil {
		return err
	}
	if addons.selectedCompute() == target.Tier {
		// Already selected: sending it again could restart the project a
		// second time, and a resumed action must be a no-op.
		return nil
	}
	if avail := addons.availableCompute(); !slices.Contains(avail, target.Tier) {
		return fmt.Errorf("supabase project %s: compute variant %q is not offered for this project (available: %s)",
			s.cfg.ProjectRef, target.Tier, strings.Join(avail, ", "))
	}
	if p.Status != "ACTIVE_HEALTHY" && p.Status != "ACTIVE_UNHEALTHY" {
		return fmt.Errorf("supabase project %s is %s; not requesting compute %s until it runs again", s.cfg.ProjectRef, p.Status, target.Tier)
	}
	body := map[string]string{"addon_type": "compute_instance", "addon_variant": target.Tier}
	if _, err := s.do(ctx, http.MethodPatch, s.path("v1", "projects", s.cfg.ProjectRef, "billing", "addons"), nil, body); err != nil {
		return err
	}
	s.pending = &computeChange{variant: target.Tier, at: s.now()}
	s.logger.Info("supabase compute change requested", "project", s.cfg.ProjectRef, "from", addons.selectedCompute(), "to", target.Tier)
	return nil
}

// checkRunning maps the project's status: running, changing (a wrapped
// ErrInProgress, so polling continues), or stopped (an error a person must
// look at).
func (s *Supabase) checkRunning(p *sbProject) error {
	switch p.Status {
	case "ACTIVE_HEALTHY":
		return nil
	case "ACTIVE_UNHEALTHY":
		// The database runs on its compute even when another service
		// (storage, realtime) is unhealthy; refusing to read here would
		// stop the autoscaler from resizing an overloaded database.
		s.logger.Warn("supabase project is ACTIVE_UNHEALTHY", "project", s.cfg.ProjectRef)
		return nil
	case "COMING_UP", "RESTARTING", "RESIZING", "UPGRADING", "RESTORING", "UNKNOWN":
		return fmt.Errorf("supabase project %s: %w: status %s", s.cfg.ProjectRef, ErrInProgress, p.Status)
	default:
		return fmt.Errorf("supabase project %s is %s, not running", s.cfg.ProjectRef, p.Status)
	}
}

// --- read replicas -----------------------------------------------------------

// Replica statuses, from the databases[].status enum.
func replicaServing(status string) bool {
	return status == "ACTIVE_HEALTHY" || status == "ACTIVE_UNHEALTHY"
}

func replicaGone(status string) bool {
	switch status {
	case "REMOVED", "GOING_DOWN", "INIT_FAILED", "INIT_READ_REPLICA_FAILED":
		return true
	}
	return false
}

func (s *Supabase) currentReplicas(ctx context.Context) (State, error) {
	p, dbs, err := s.databases(ctx)
	if err != nil {
		return State{}, err
	}
	if err := s.checkRunning(p); err != nil {
		return State{}, err
	}
	serving := 0
	var changing, failed []string
	for _, d := range dbs {
		switch {
		case replicaServing(d.Status):
			serving++
		case d.Status == "REMOVED":
		case d.Status == "INIT_FAILED" || d.Status == "INIT_READ_REPLICA_FAILED":
			failed = append(failed, d.Identifier)
		default: // COMING_UP, INIT_READ_REPLICA, GOING_DOWN, RESTARTING, …
			changing = append(changing, d.Identifier+" "+d.Status)
		}
	}
	if len(failed) > 0 {
		// Not counted and not removed: a failed replica may still bill, but
		// deleting things nobody asked to delete is for a person to decide.
		s.logger.Warn("supabase read replicas failed to start; remove them by hand", "project", s.cfg.ProjectRef, "replicas", failed)
	}
	if len(changing) > 0 {
		return State{}, fmt.Errorf("supabase project %s: %w: read replicas %s", s.cfg.ProjectRef, ErrInProgress, strings.Join(changing, ", "))
	}
	return State{Replicas: serving}, nil
}

func (s *Supabase) applyReplicas(ctx context.Context, target State) error {
	if target.Tier != "" || target.Replicas < 0 {
		return fmt.Errorf("supabase project %s: resource read_replicas is set by a replica count, got %s", s.cfg.ProjectRef, target)
	}
	p, dbs, err := s.databases(ctx)
	if err != nil {
		return err
	}
	// Replicas being set up count: a resumed action must not set up the
	// same replica twice. Replicas going down or failed do not.
	var live []sbDatabase
	for _, d := range dbs {
		if !replicaGone(d.Status) {
			live = append(live, d)
		}
	}
	region := s.cfg.Region
	if region == "" {
		region = p.Region
	}
	switch {
	case len(live) < target.Replicas:
		n := target.Replicas - len(live)
		for i := range n {
			body := map[string]string{"read_replica_region": region}
			if _, err := s.do(ctx, http.MethodPost, s.path("v1", "projects", s.cfg.ProjectRef, "read-replicas", "setup"), nil, body); err != nil {
				return fmt.Errorf("set up read replica %d of %d in %s: %w", i+1, n, region, err)
			}
		}
		s.logger.Info("supabase read replicas requested", "project", s.cfg.ProjectRef, "region", region, "count", n)
	case len(live) > target.Replicas:
		// Remove first what serves nothing yet, then replicas in the region
		// this actuator adds to (a replica placed elsewhere was likely put
		// there by hand, for latency), then in a stable order.
		sort.SliceStable(live, func(i, j int) bool {
			a, b := live[i], live[j]
			if sa, sb := replicaServing(a.Status), replicaServing(b.Status); sa != sb {
				return !sa
			}
			if ra, rb := a.Region == region, b.Region == region; ra != rb {
				return ra
			}
			return a.Identifier > b.Identifier
		})
		for _, d := range live[:len(live)-target.Replicas] {
			body := map[string]string{"database_identifier": d.Identifier}
			if _, err := s.do(ctx, http.MethodPost, s.path("v1", "projects", s.cfg.ProjectRef, "read-replicas", "remove"), nil, body); err != nil {
				return fmt.Errorf("remove read replica %s: %w", d.Identifier, err)
			}
			s.logger.Info("supabase read replica removal requested", "project", s.cfg.ProjectRef, "replica", d.Identifier)
		}
	}
	return nil
}

// databases returns the project and its read replicas.
func (s *Supabase) databases(ctx context.Context) (*sbProject, []sbDatabase, error) {
	p, err := s.project(ctx)
	if err != nil {
		return nil, nil, err
	}
	if p.OrganizationSlug == "" {
		return nil, nil, fmt.Errorf("supabase project %s: the project response names no organization_slug", s.cfg.ProjectRef)
	}
	const limit = 100 // the documented maximum
	for offset, page := 0, 0; page < 50; page++ {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		body, err := s.do(ctx, http.MethodGet, s.path("v1", "organizations", p.OrganizationSlug, "projects"), q, nil)
		if err != nil {
			return nil, nil, err
		}
		var list sbOrgProjects
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, nil, fmt.Errorf("supabase organization %s projects: not the documented shape: %w: %s", p.OrganizationSlug, err, snippet(body))
		}
		for _, op := range list.Projects {
			if op.Ref != s.cfg.ProjectRef {
				continue
			}
			var replicas []sbDatabase
			for _, d := range op.Databases {
				if d.Type == "READ_REPLICA" {
					replicas = append(replicas, d)
				}
			}
			return p, replicas, nil
		}
		offset += len(list.Projects)
		if len(list.Projects) == 0 || float64(offset) >= list.Pagination.Count {
			break
		}
	}
	return nil, nil, fmt.Errorf("supabase project %s is not listed in organization %s (does the token have organization_projects_read?)", s.cfg.ProjectRef, p.OrganizationSlug)
}

// --- API shapes --------------------------------------------------------------

type sbProject struct {
	Ref              string `json:"ref"`
	Name             string `json:"name"`
	Region           string `json:"region"`
	Status           string `json:"status"`
	OrganizationSlug string `json:"organization_slug"`
}

type sbVariant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type sbAddons struct {
	Selected []struct {
		Type    string    `json:"type"`
		Variant sbVariant `json:"variant"`
	} `json:"selected_addons"`
	Available []struct {
		Type     string      `json:"type"`
		Name     string      `json:"name"`
		Variants []sbVariant `json:"variants"`
	} `json:"available_addons"`
}

func (a *sbAddons) selectedCompute() string {
	for _, s := range a.Selected {
		if s.Type == "compute_instance" {
			return s.Variant.ID
		}
	}
	return ""
}

func (a *sbAddons) availableCompute() []string {
	var ids []string
	for _, av := range a.Available {
		if av.Type != "compute_instance" {
			continue
		}
		for _, v := range av.Variants {
			ids = append(ids, v.ID)
		}
	}
	return ids
}

type sbDatabase struct {
	Identifier string `json:"identifier"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	Region     string `json:"region"`
}

type sbOrgProjects struct {
	Projects []struct {
		Ref       string       `json:"ref"`
		Databases []sbDatabase `json:"databases"`
	} `json:"projects"`
	Pagination struct {
		Count float64 `json:"count"`
	} `json:"pagination"`
}

func (s *Supabase) project(ctx context.Context) (*sbProject, error) {
	body, err := s.do(ctx, http.MethodGet, s.path("v1", "projects", s.cfg.ProjectRef), nil, nil)
	if err != nil {
		return nil, err
	}
	var p sbProject
	if err := json.Unmarshal(body, &p); err != nil || p.Status == "" {
		return nil, fmt.Errorf("supabase project %s: response is not a project: %s", s.cfg.ProjectRef, snippet(body))
	}
	return &p, nil
}

func (s *Supabase) addons(ctx context.Context) (*sbAddons, error) {
	body, err := s.do(ctx, http.MethodGet, s.path("v1", "projects", s.cfg.ProjectRef, "billing", "addons"), nil, nil)
	if err != nil {
		return nil, err
	}
	var a sbAddons
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("supabase project %s add-ons: not the documented shape: %w: %s", s.cfg.ProjectRef, err, snippet(body))
	}
	return &a, nil
}

// --- transport -----------------------------------------------------------------

func (s *Supabase) path(segments ...string) *url.URL {
	return s.base.JoinPath(segments...)
}

func (s *Supabase) do(ctx context.Context, method string, u *url.URL, query url.Values, payload any) ([]byte, error) {
	if query != nil {
		c := *u
		c.RawQuery = query.Encode()
		u = &c
	}
	if now := s.now(); now.Before(s.limitedUntil) {
		// Asking again during a rate-limit window only prolongs it.
		e := *s.limitErr
		e.now = now
		return nil, &e
	}
	req, err := jsonRequest(ctx, method, u, payload)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	data, resp, err := roundTrip(s.client, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	se := newStatusError(req, resp, data, s.now())
	se.Hint = s.hint(resp.StatusCode)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		// Pick up a rotated token for the next call.
		if t, err := s.cfg.AccessToken.Resolve(); err == nil && t != "" {
			s.token = t
		}
	case http.StatusTooManyRequests:
		s.limitedUntil, s.limitErr = se.RetryAt, se
	}
	return nil, se
}

func (s *Supabase) hint(code int) string {
	ref := s.cfg.ProjectRef
	switch code {
	case http.StatusUnauthorized:
		return "the access token was refused: expired, revoked or mistyped"
	case http.StatusForbidden:
		return "the access token may not do this on supabase project " + ref
	case http.StatusNotFound:
		return "supabase project " + ref + " (or its organization) does not exist or this token cannot see it"
	case http.StatusConflict:
		return "supabase project " + ref + " is busy with another change"
	}
	return ""
}

// --- errors shared by the API actuators -----------------------------------------

// StatusError is a non-2xx answer of an API an actuator calls.
type StatusError struct {
	Method string
	URL    string // redacted
	Code   int
	Status string
	Hint   string // what the status means for this actuator
	// Body is the API's message, or a snippet of the body.
	Body string
	// RetryAt is when the API said to try again (Retry-After on 429 and
	// 503); zero when it did not say. The caller retries on its own
	// schedule: an actuator never sleeps for it.
	RetryAt time.Time
	now     time.Time
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Method, e.URL, e.Status)
	var notes []string
	if e.Hint != "" {
		notes = append(notes, e.Hint)
	}
	if !e.RetryAt.IsZero() {
		notes = append(notes, fmt.Sprintf("retry after %s (in %s)", e.RetryAt.UTC().Format(time.RFC3339), e.RetryAt.Sub(e.now).Round(time.Second)))
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, "; "))
	}
	if e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	return b.String()
}

// Temporary reports whether trying again later may succeed.
func (e *StatusError) Temporary() bool {
	return e.Code == http.StatusTooManyRequests || e.Code == http.StatusConflict || e.Code >= 500
}

func newStatusError(req *http.Request, resp *http.Response, body []byte, now time.Time) *StatusError {
	e := &StatusError{Method: req.Method, URL: redact(req.URL.String()), Code: resp.StatusCode, Status: resp.Status, Body: apiMessage(body), now: now}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAt = retryAt(resp.Header, now)
		if e.RetryAt.IsZero() && resp.StatusCode == http.StatusTooManyRequests {
			// Supabase documents X-RateLimit-Reset; without any hint, a
			// minute is the window of both APIs' limits.
			e.RetryAt = now.Add(time.Minute)
		}
	}
	return e
}

// retryAt reads Retry-After (seconds or an HTTP date, RFC 9110 §10.2.3),
// then X-RateLimit-Reset (seconds until the window resets).
func retryAt(h http.Header, now time.Time) time.Time {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return now.Add(time.Duration(n) * time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return t
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 24*3600 {
			return now.Add(time.Duration(n) * time.Second)
		}
	}
	return time.Time{}
}

// apiMessage extracts {"message": ...} (Supabase's errors and Kubernetes'
// Status objects both carry one), or snippets the body.
func apiMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return snippet([]byte(m.Message))
	}
	return snippet(body)
}
