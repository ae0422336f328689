package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// What this file relies on (Kubernetes API reference, apps/v1 and
// autoscaling/v1, stable since 1.9):
//
//   - GET/PUT /apis/apps/v1/namespaces/{ns}/{deployments|statefulsets}/{name}/scale
//     reads and writes an autoscaling/v1 Scale {metadata{name, namespace,
//     resourceVersion}, spec{replicas}, status{replicas, selector}}. A PUT
//     carrying a stale metadata.resourceVersion is refused with 409
//     Conflict (optimistic concurrency), so a change made meanwhile by
//     someone else is never overwritten blindly.
//   - GET /apis/apps/v1/namespaces/{ns}/{deployments|statefulsets}/{name}
//     gives metadata.generation, spec.replicas (default 1) and
//     status{observedGeneration, readyReplicas}: the controller has acted on
//     the latest spec once observedGeneration ≥ generation.
//   - Errors are Status objects {"kind": "Status", "message", "reason",
//     "code"}; 429 (API Priority and Fairness) carries Retry-After.
//
// RBAC the autoscaler's identity needs, in the workload's namespace:
// get on deployments (or statefulsets) and get, update on
// deployments/scale (or statefulsets/scale). Do not let an HPA manage the
// same workload: the two would undo each other's changes.

// KubernetesConfig scales a Deployment or StatefulSet through its scale
// subresource. Without kubeconfig it uses the pod's service account.
type KubernetesConfig struct {
	Kind string `yaml:"kind"` // Deployment or StatefulSet
	// Namespace default: the kubeconfig context's, else the service
	// account's, else "default".
	Namespace  string          `yaml:"namespace,omitempty"`
	Name       string          `yaml:"name"`
	Kubeconfig string          `yaml:"kubeconfig,omitempty"` // path; default: in-cluster
	Context    string          `yaml:"context,omitempty"`    // default: the kubeconfig's current-context
	Timeout    config.Duration `yaml:"timeout,omitempty"`    // default: 10s
}

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// Validate returns every problem, each prefixed with path.
func (c *KubernetesConfig) Validate(path string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Kind {
	case "Deployment", "StatefulSet":
	case "":
		add("%s.kind: required (Deployment or StatefulSet)", path)
	default:
		add("%s.kind: %q is not Deployment or StatefulSet", path, c.Kind)
	}
	switch {
	case c.Name == "":
		add("%s.name: required", path)
	case len(c.Name) > 253 || !dns1123Subdomain.MatchString(c.Name):
		add("%s.name: %q is not a Kubernetes object name (lowercase DNS subdomain)", path, c.Name)
	}
	if c.Namespace != "" && (len(c.Namespace) > 63 || !dns1123Label.MatchString(c.Namespace)) {
		add("%s.namespace: %q is not a Kubernetes namespace name (lowercase DNS label)", path, c.Namespace)
	}
	if c.Context != "" && c.Kubeconfig == "" {
		add("%s.context: only means something with kubeconfig", path)
	}
	if c.Timeout < 0 {
		add("%s.timeout: must not be negative", path)
	}
	return errs
}

// Kubernetes is the kubernetes actuator.
type Kubernetes struct {
	cfg       KubernetesConfig
	conn      *kubeConn
	namespace string
	resource  string // deployments or statefulsets
	subject   string // "deployment wedsync/api", for messages
	logger    *slog.Logger
	now       func() time.Time
}

var _ Actuator = (*Kubernetes)(nil)

// NewKubernetes builds a kubernetes actuator; credentials and certificates
// are loaded here so that a broken setup fails at start-up.
func NewKubernetes(c KubernetesConfig, logger *slog.Logger) (*Kubernetes, error) {
	return newKubernetes(c, logger, defaultInClusterEnv(), time.Now)
}

func newKubernetes(c KubernetesConfig, logger *slog.Logger, env inClusterEnv, now func() time.Time) (*Kubernetes, error) {
	if c.Timeout == 0 {
		c.Timeout = config.Duration(10 * time.Second)
	}
	var conn *kubeConn
	var err error
	if c.Kubeconfig != "" {
		conn, err = loadKubeconfig(c.Kubeconfig, c.Context, c.Timeout.D(), now)
	} else {
		conn, err = inClusterConn(env, c.Timeout.D(), now)
	}
	if err != nil {
		return nil, err
	}
	ns := c.Namespace
	if ns == "" {
		ns = conn.namespace
	}
	if ns == "" {
		ns = "default"
	}
	k := &Kubernetes{cfg: c, conn: conn, namespace: ns, logger: logger, now: now}
	switch c.Kind {
	case "Deployment":
		k.resource = "deployments"
	case "StatefulSet":
		k.resource = "statefulsets"
	default:
		return nil, fmt.Errorf("kind %q is not Deployment or StatefulSet", c.Kind)
	}
	k.subject = strings.ToLower(c.Kind) + " " + ns + "/" + c.Name
	return k, nil
}

type k8sWorkload struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int `json:"replicas"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		ReadyReplicas      int   `json:"readyReplicas"`
	} `json:"status"`
}

// Current reads the replicas that serve: the ready ones, never more than
// the spec asks for once the controller has seen it (a rolling update's
// surge pods are not capacity the autoscaler asked for), and the raw ready
// count while the controller has not yet acted on the latest spec (so a
// fresh change reads as not yet done).
func (k *Kubernetes) Current(ctx context.Context) (State, error) {
	body, err := k.do(ctx, http.MethodGet, k.url(false), nil)
	if err != nil {
		return State{}, err
	}
	var w k8sWorkload
	if err := json.Unmarshal(body, &w); err != nil {
		return State{}, fmt.Errorf("%s: response is not a %s: %s", k.subject, k.cfg.Kind, snippet(body))
	}
	spec := 1 // the API's default when spec.replicas is unset
	if w.Spec.Replicas != nil {
		spec = *w.Spec.Replicas
	}
	ready := w.Status.ReadyReplicas
	if w.Status.ObservedGeneration < w.Metadata.Generation {
		return State{Replicas: ready}, nil
	}
	return State{Replicas: min(ready, spec)}, nil
}

// Apply sets spec.replicas through the scale subresource. On a conflict
// (the object changed between read and write) it reads again and retries
// once; a second conflict means someone else is actively scaling the
// workload, which a person should know about.
func (k *Kubernetes) Apply(ctx context.Context, target State) error {
	if target.Tier != "" || target.Replicas < 0 {
		return fmt.Errorf("%s: scaled by a replica count, got %s", k.subject, target)
	}
	for attempt := 1; ; attempt++ {
		body, err := k.do(ctx, http.MethodGet, k.url(true), nil)
		if err != nil {
			return err
		}
		var scale map[string]any
		if err := json.Unmarshal(body, &scale); err != nil {
			return fmt.Errorf("%s: response is not a Scale: %s", k.subject, snippet(body))
		}
		spec, _ := scale["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
			scale["spec"] = spec
		}
		if n, ok := spec["replicas"].(float64); ok && int(n) == target.Replicas {
			return nil // already asked for: applying twice is applying once
		}
		from := spec["replicas"]
		spec["replicas"] = target.Replicas
		// The Scale goes back whole, metadata.resourceVersion included: that
		// is what makes the write conditional.
		_, err = k.do(ctx, http.MethodPut, k.url(true), scale)
		var se *StatusError
		if err != nil && errors.As(err, &se) && se.Code == http.StatusConflict && attempt == 1 {
			k.logger.Info("scale conflict; reading the fresh object and retrying once", "workload", k.subject)
			continue
		}
		if err != nil {
			return err
		}
		k.logger.Info("kubernetes scale requested", "workload", k.subject, "from", from, "to", target.Replicas)
		return nil
	}
}

func (k *Kubernetes) url(scale bool) *url.URL {
	u := k.conn.server.JoinPath("apis", "apps", "v1", "namespaces", k.namespace, k.resource, k.cfg.Name)
	if scale {
		u = u.JoinPath("scale")
	}
	return u
}

func (k *Kubernetes) do(ctx context.Context, method string, u *url.URL, payload any) ([]byte, error) {
	req, err := jsonRequest(ctx, method, u, payload)
	if err != nil {
		return nil, err
	}
	if k.conn.token != nil {
		tok, err := k.conn.token.get()
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", k.subject, k.conn.source, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	data, resp, err := roundTrip(k.conn.client, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	se := newStatusError(req, resp, data, k.now())
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		k.conn.token.invalidate() // a rotated service-account token is read at once
		se.Hint = "credentials of the " + k.conn.source + " refused"
	case http.StatusForbidden:
		se.Hint = fmt.Sprintf("%s: needs get on %s and get, update on %s/scale in namespace %s", k.subject, k.resource, k.resource, k.namespace)
	case http.StatusNotFound:
		se.Hint = k.subject + " not found"
	case http.StatusConflict:
		se.Hint = k.subject + " was modified concurrently, twice"
	}
	return nil, se
}
