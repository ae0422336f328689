package actuator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, made fresh for each test.
type testPKI struct {
	caPEM                []byte
	pool                 *x509.CertPool
	server               tls.Certificate
	clientPEM, clientKey []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wedsync test cluster CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	p := &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	sc, sk := issue(2, "kube-apiserver", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	if p.server, err = tls.X509KeyPair(sc, sk); err != nil {
		t.Fatal(err)
	}
	p.clientPEM, p.clientKey = issue(3, "wedsync-autoscaler", x509.ExtKeyUsageClientAuth, nil)
	return p
}

// startKubeAPI serves h over TLS with the PKI's server certificate,
// optionally requiring a client certificate signed by its CA.
func startKubeAPI(t *testing.T, h http.Handler, pki *testPKI, clientCerts bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}}
	if clientCerts {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = pki.pool
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// writeKubeconfig writes a one-context kubeconfig; cluster and user are
// YAML lines indented under their keys.
func writeKubeconfig(t *testing.T, dir, cluster, user string) string {
	t.Helper()
	indent := func(s string) string {
		return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ")
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
preferences: {}
current-context: prod
clusters:
  - name: prod-cluster
    cluster:
%s
contexts:
  - name: prod
    context: {cluster: prod-cluster, user: autoscaler, namespace: wedsync}
  - name: other
    context: {cluster: prod-cluster, user: autoscaler}
users:
  - name: autoscaler
    user:
%s
`, indent(cluster), indent(user))
	p := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	deployPath = "/apis/apps/v1/namespaces/wedsync/deployments/api"
	scalePath  = deployPath + "/scale"
)

// newTestKubernetes serves a replay API over TLS and builds a Deployment
// actuator on it from a kubeconfig with a bearer token.
func newTestKubernetes(t *testing.T) (*Kubernetes, *replayServer, *fakeClock) {
	t.Helper()
	pki := newTestPKI(t)
	api := newReplay(t)
	api.gate = func(r *http.Request) *reply {
		if r.Header.Get("Authorization") != "Bearer kube-token" {
			return &reply{status: 401, file: "kubernetes/status_401.json"}
		}
		return nil
	}
	srv := startKubeAPI(t, api, pki, false)
	path := writeKubeconfig(t, t.TempDir(),
		"server: "+srv.URL+"\ncertificate-authority-data: "+b64(pki.caPEM),
		"token: kube-token")
	cfg := KubernetesConfig{Kind: "Deployment", Name: "api", Kubeconfig: path}
	if errs := cfg.Validate("a"); len(errs) > 0 {
		t.Fatal(errs)
	}
	clk := newClock()
	k, err := newKubernetes(cfg, discard, inClusterEnv{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return k, api, clk
}

// Read, scale, watch the rollout, done.
func TestKubernetesRecordedScale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, api, _ := newTestKubernetes(t)
	api.set("GET "+deployPath, ok("kubernetes/deployment_api_3_ready.json"))
	api.set("GET "+scalePath, ok("kubernetes/scale_api_3.json"))
	api.set("PUT "+scalePath, ok("kubernetes/scale_api_5.json"))

	if cur, err := k.Current(ctx); err != nil || cur != (State{Replicas: 3}) {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := k.Apply(ctx, State{Replicas: 5}); err != nil {
		t.Fatal(err)
	}
	puts := api.requests(http.MethodPut)
	if len(puts) != 1 {
		t.Fatalf("%d PUTs, want 1", len(puts))
	}
	var sent struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name, Namespace, ResourceVersion string
		} `json:"metadata"`
		Spec struct{ Replicas int } `json:"spec"`
	}
	if err := json.Unmarshal([]byte(puts[0].body), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.APIVersion != "autoscaling/v1" || sent.Kind != "Scale" || sent.Metadata.Name != "api" ||
		sent.Metadata.ResourceVersion != "48113" || sent.Spec.Replicas != 5 {
		t.Fatalf("PUT body %s", puts[0].body)
	}

	steps := []struct {
		file string
		want int
	}{
		{"deployment_api_5_unobserved.json", 3}, // the controller has not seen the new spec
		{"deployment_api_5_rolling.json", 4},    // 4 of 5 ready
		{"deployment_api_5_ready.json", 5},      // done
		{"deployment_api_5_surge.json", 5},      // a later rollout's surge pods are not capacity asked for
		{"deployment_api_default_replicas.json", 1},
		// Scaled in to 3 but not yet seen by the controller: still 5.
		{"deployment_api_3_unobserved_scale_down.json", 5},
	}
	for _, s := range steps {
		api.set("GET "+deployPath, ok("kubernetes/"+s.file))
		if cur, err := k.Current(ctx); err != nil || cur != (State{Replicas: s.want}) {
			t.Fatalf("%s: current = %v, %v; want %d replicas", s.file, cur, err, s.want)
		}
	}

	// Applying again (a resumed action) reads the scale and writes nothing.
	api.set("GET "+scalePath, ok("kubernetes/scale_api_5.json"))
	if err := k.Apply(ctx, State{Replicas: 5}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.requests(http.MethodPut)); n != 1 {
		t.Fatalf("%d PUTs after a repeated Apply, want 1", n)
	}
}

func TestKubernetesRecordedConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conflict := reply{status: 409, file: "kubernetes/status_409.json"}

	t.Run("409 then success with the fresh resourceVersion", func(t *testing.T) {
		t.Parallel()
		k, api, _ := newTestKubernetes(t)
		api.set("GET "+scalePath, ok("kubernetes/scale_api_3.json"), ok("kubernetes/scale_api_3_fresh.json"))
		api.set("PUT "+scalePath, conflict, ok("kubernetes/scale_api_5.json"))
		if err := k.Apply(ctx, State{Replicas: 5}); err != nil {
			t.Fatal(err)
		}
		puts := api.requests(http.MethodPut)
		if len(puts) != 2 || !strings.Contains(puts[0].body, `"resourceVersion":"48113"`) || !strings.Contains(puts[1].body, `"resourceVersion":"48120"`) {
			t.Fatalf("PUTs %+v", puts)
		}
	})
	t.Run("409 twice", func(t *testing.T) {
		t.Parallel()
		k, api, _ := newTestKubernetes(t)
		api.set("GET "+scalePath, ok("kubernetes/scale_api_3.json"), ok("kubernetes/scale_api_3_fresh.json"))
		api.set("PUT "+scalePath, conflict)
		err := k.Apply(ctx, State{Replicas: 5})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 409 || !strings.Contains(err.Error(), "deployment wedsync/api was modified concurrently, twice") ||
			!strings.Contains(err.Error(), "the object has been modified") {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.requests(http.MethodPut)); n != 2 {
			t.Fatalf("%d PUTs, want 2 (one retry)", n)
		}
	})
	t.Run("someone else already scaled to the target", func(t *testing.T) {
		t.Parallel()
		k, api, _ := newTestKubernetes(t)
		api.set("GET "+scalePath, ok("kubernetes/scale_api_3.json"), ok("kubernetes/scale_api_5.json"))
		api.set("PUT "+scalePath, conflict)
		if err := k.Apply(ctx, State{Replicas: 5}); err != nil {
			t.Fatal(err)
		}
		if n := len(api.requests(http.MethodPut)); n != 1 {
			t.Fatalf("%d PUTs, want 1", n)
		}
	})
}

func TestKubernetesRecordedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		route   string
		reply   reply
		apply   bool
		want    []string
		retryIn time.Duration
	}{
		{"401", "GET " + deployPath, reply{status: 401, file: "kubernetes/status_401.json"}, false,
			[]string{"GET https://127.0.0.1", deployPath, "401 Unauthorized (credentials of the kubeconfig", `context "prod" refused): Unauthorized`}, 0},
		{"403 on scale", "GET " + scalePath, reply{status: 403, file: "kubernetes/status_403.json"}, true,
			[]string{"403 Forbidden (deployment wedsync/api: needs get on deployments and get, update on deployments/scale in namespace wedsync)",
				`User "system:serviceaccount:wedsync:wedsync-autoscaler" cannot get resource "deployments/scale"`}, 0},
		{"404", "GET " + deployPath, reply{status: 404, file: "kubernetes/status_404.json"}, false,
			[]string{"404 Not Found (deployment wedsync/api not found)", `deployments.apps "api" not found`}, 0},
		{"429", "GET " + deployPath, reply{status: 429, file: "kubernetes/status_429.json", header: map[string]string{"Retry-After": "2"}}, false,
			[]string{"429 Too Many Requests (retry after 2026-06-01T12:00:02Z (in 2s)): Too many requests, please try again later."}, 2 * time.Second},
		{"500", "GET " + scalePath, reply{status: 500, file: "kubernetes/status_500.json"}, true,
			[]string{"500 Internal Server Error: Internal error occurred: etcdserver: request timed out"}, 0},
		{"503", "GET " + deployPath, reply{status: 503, file: "kubernetes/status_503.json"}, false,
			[]string{"503 Service Unavailable: the server is currently unable to handle the request"}, 0},
		{"not a deployment", "GET " + deployPath, reply{status: 200, file: "supabase/error_503.html"}, false,
			[]string{"deployment wedsync/api: response is not a Deployment: <html>"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			k, api, clk := newTestKubernetes(t)
			api.set(tc.route, tc.reply)
			var err error
			if tc.apply {
				err = k.Apply(ctx, State{Replicas: 4})
			} else {
				_, err = k.Current(ctx)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			var se *StatusError
			if tc.retryIn > 0 && (!errors.As(err, &se) || !se.RetryAt.Equal(clk.Now().Add(tc.retryIn))) {
				t.Errorf("RetryAt of %v, want now + %s", err, tc.retryIn)
			}
			if strings.Contains(err.Error(), "kube-token") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
	k, _, _ := newTestKubernetes(t)
	for _, bad := range []State{{Tier: "ci_small"}, {Replicas: -1}} {
		if err := k.Apply(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "scaled by a replica count") {
			t.Errorf("Apply(%+v) = %v", bad, err)
		}
	}
}

// In a pod: API server from the environment, token, CA and namespace from
// the service-account folder; the token is read again after rotation.
func TestKubernetesInClusterStatefulSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pki := newTestPKI(t)
	api := newReplay(t)
	var mu sync.Mutex
	valid := "sa-token-1"
	api.gate = func(r *http.Request) *reply {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+valid {
			return &reply{status: 401, file: "kubernetes/status_401.json"}
		}
		return nil
	}
	srv := startKubeAPI(t, api, pki, false)
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	write := func(name, v string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", "sa-token-1")
	write("ca.crt", string(pki.caPEM))
	write("namespace", "data\n")
	env := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}
	clk := newClock()
	k, err := newKubernetes(KubernetesConfig{Kind: "StatefulSet", Name: "read-pool"}, discard,
		inClusterEnv{getenv: func(k string) string { return env[k] }, dir: dir}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	const sts = "/apis/apps/v1/namespaces/data/statefulsets/read-pool"
	api.set("GET "+sts, ok("kubernetes/statefulset_read_pool_2_ready.json"))
	api.set("GET "+sts+"/scale", ok("kubernetes/scale_read_pool_2.json"))
	api.set("PUT "+sts+"/scale", ok("kubernetes/scale_read_pool_3.json"))
	if cur, err := k.Current(ctx); err != nil || cur != (State{Replicas: 2}) {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := k.Apply(ctx, State{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if p := api.requests(http.MethodPut); len(p) != 1 || !strings.Contains(p[0].body, `"replicas":3`) || !strings.Contains(p[0].body, `"resourceVersion":"9120"`) {
		t.Fatalf("PUTs %+v", p)
	}

	// The kubelet rotates the token: the server refuses the old one once,
	// and the next call reads the file again.
	write("token", "sa-token-2")
	mu.Lock()
	valid = "sa-token-2"
	mu.Unlock()
	if _, err := k.Current(ctx); err == nil || !strings.Contains(err.Error(), "credentials of the in-cluster service account refused") {
		t.Fatalf("with the stale token: %v", err)
	}
	api.set("GET "+sts, ok("kubernetes/statefulset_read_pool_3_ready.json"))
	if cur, err := k.Current(ctx); err != nil || cur != (State{Replicas: 3}) {
		t.Fatalf("after the 401: current = %v, %v", cur, err)
	}
	// And on schedule, without a refusal.
	write("token", "sa-token-3")
	mu.Lock()
	valid = "sa-token-3"
	mu.Unlock()
	clk.Add(tokenReread + time.Second)
	if _, err := k.Current(ctx); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
}

func TestInClusterErrors(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "token"), []byte("t"), 0o600)
	os.WriteFile(filepath.Join(full, "ca.crt"), pki.caPEM, 0o600)
	noToken := t.TempDir()
	badCA := t.TempDir()
	os.WriteFile(filepath.Join(badCA, "token"), []byte("t"), 0o600)
	os.WriteFile(filepath.Join(badCA, "ca.crt"), []byte("not a certificate"), 0o600)
	inPod := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	tests := []struct {
		env  map[string]string
		dir  string
		want string
	}{
		{nil, full, "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset): set kubeconfig"},
		{inPod, noToken, "in-cluster service account: read token:"},
		{inPod, badCA, "ca.crt holds no PEM certificate"},
	}
	for _, tc := range tests {
		env := tc.env
		_, err := newKubernetes(KubernetesConfig{Kind: "Deployment", Name: "api"}, discard,
			inClusterEnv{getenv: func(k string) string { return env[k] }, dir: tc.dir}, time.Now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	k, err := newKubernetes(KubernetesConfig{Kind: "Deployment", Name: "api"}, discard,
		inClusterEnv{getenv: func(k string) string { return inPod[k] }, dir: full}, time.Now)
	if err != nil || k.namespace != "default" || k.conn.server.String() != "https://10.96.0.1:443" {
		t.Fatalf("without a namespace file: %+v, %v", k, err)
	}
	v6 := map[string]string{"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
	k, err = newKubernetes(KubernetesConfig{Kind: "Deployment", Name: "api", Namespace: "web"}, discard,
		inClusterEnv{getenv: func(k string) string { return v6[k] }, dir: full}, time.Now)
	if err != nil || k.conn.server.String() != "https://[fd00::1]:443" || k.namespace != "web" {
		t.Fatalf("IPv6 service host: %+v, %v", k, err)
	}
}

// A kubeconfig whose user holds a client certificate, against an API
// server that requires one.
func TestKubeconfigClientCertificates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pki := newTestPKI(t)
	api := newReplay(t)
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			seen = append(seen, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		mu.Unlock()
		api.ServeHTTP(w, r)
	})
	srv := startKubeAPI(t, h, pki, true)
	api.set("GET "+deployPath, ok("kubernetes/deployment_api_3_ready.json"))

	inline := t.TempDir()
	files := t.TempDir()
	os.MkdirAll(filepath.Join(files, "pki"), 0o700)
	os.WriteFile(filepath.Join(files, "pki", "ca.crt"), pki.caPEM, 0o600)
	os.WriteFile(filepath.Join(files, "pki", "client.crt"), pki.clientPEM, 0o600)
	os.WriteFile(filepath.Join(files, "pki", "client.key"), pki.clientKey, 0o600)
	tests := []struct {
		name, kubeconfig, want string
	}{
		{"inline data", writeKubeconfig(t, inline,
			"server: "+srv.URL+"\ncertificate-authority-data: "+b64(pki.caPEM),
			"client-certificate-data: "+b64(pki.clientPEM)+"\nclient-key-data: "+b64(pki.clientKey)), ""},
		{"files relative to the kubeconfig", writeKubeconfig(t, files,
			"server: "+srv.URL+"\ncertificate-authority: pki/ca.crt",
			"client-certificate: pki/client.crt\nclient-key: pki/client.key"), ""},
		{"no client certificate", writeKubeconfig(t, t.TempDir(),
			"server: "+srv.URL+"\ncertificate-authority-data: "+b64(pki.caPEM),
			"token: kube-token"), "certificate required"},
		{"unknown server CA", writeKubeconfig(t, t.TempDir(),
			"server: "+srv.URL,
			"client-certificate-data: "+b64(pki.clientPEM)+"\nclient-key-data: "+b64(pki.clientKey)), "certificate signed by unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := newKubernetes(KubernetesConfig{Kind: "Deployment", Name: "api", Kubeconfig: tc.kubeconfig}, discard, inClusterEnv{}, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := k.Current(ctx)
			if tc.want == "" {
				if err != nil || cur != (State{Replicas: 3}) {
					t.Fatalf("current = %v, %v", cur, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "wedsync-autoscaler" {
		t.Fatalf("client certificates seen by the server: %q", seen)
	}
}

func TestKubeconfigTokenFileAndInsecure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pki := newTestPKI(t)
	api := newReplay(t)
	api.gate = func(r *http.Request) *reply {
		if r.Header.Get("Authorization") != "Bearer from-file" {
			return &reply{status: 401, file: "kubernetes/status_401.json"}
		}
		return nil
	}
	srv := startKubeAPI(t, api, pki, false)
	api.set("GET /apis/apps/v1/namespaces/default/deployments/api", ok("kubernetes/deployment_api_3_ready.json"))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sa.token"), []byte("from-file\n"), 0o600)
	// Context "other" has no namespace: the actuator falls back to default.
	path := writeKubeconfig(t, dir, "server: "+srv.URL+"\ninsecure-skip-tls-verify: true", "tokenFile: sa.token")
	k, err := newKubernetes(KubernetesConfig{Kind: "Deployment", Name: "api", Kubeconfig: path, Context: "other"}, discard, inClusterEnv{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := k.Current(ctx); err != nil || cur.Replicas != 3 {
		t.Fatalf("current = %v, %v", cur, err)
	}
}

func TestKubeconfigErrors(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	const server = "server: https://10.0.0.1:6443"
	tests := []struct {
		name, cluster, user, context, want string
	}{
		{"unknown context", server, "token: x", "staging", `context "staging": no such context`},
		{"exec plugin", server, "exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}", "",
			`user "autoscaler" authenticates through an exec plugin, which this actuator does not run`},
		{"auth provider", server, "auth-provider: {name: gcp}", "", "uses an auth-provider"},
		{"basic auth", server, "username: admin\npassword: secret", "", "basic authentication, which Kubernetes removed in 1.19"},
		{"CA and insecure", server + "\ninsecure-skip-tls-verify: true\ncertificate-authority-data: " + b64(pki.caPEM), "token: x", "",
			"certificate-authority and insecure-skip-tls-verify together are not allowed"},
		{"bad base64", server + "\ncertificate-authority-data: '%%%'", "token: x", "", "certificate-authority: -data is not base64"},
		{"not PEM", server + "\ncertificate-authority-data: " + b64([]byte("hello")), "token: x", "", "certificate-authority holds no PEM certificate"},
		{"cert without key", server, "client-certificate-data: " + b64(pki.clientPEM), "", "needs both client-certificate and client-key"},
		{"key of another cert", server, "client-certificate-data: " + b64(pki.caPEM) + "\nclient-key-data: " + b64(pki.clientKey), "", "client certificate: tls: private key does not match"},
		{"plain http to a remote host", "server: http://10.0.0.1:8080", "token: x", "", "plain http to 10.0.0.1:8080 would send credentials in clear"},
		{"no server", "certificate-authority-data: " + b64(pki.caPEM), "token: x", "", `cluster server "" is not an http(s) URL`},
		{"missing token file", server, "tokenFile: nope.token", "", "tokenFile: read token:"},
		{"missing CA file", server + "\ncertificate-authority: nope.crt", "token: x", "", "certificate-authority: open"},
	}
	for _, tc := range tests {
		path := writeKubeconfig(t, t.TempDir(), tc.cluster, tc.user)
		_, err := loadKubeconfig(path, tc.context, time.Second, time.Now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks the password: %v", tc.name, err)
		}
	}
	dir := t.TempDir()
	noCurrent := filepath.Join(dir, "kc")
	os.WriteFile(noCurrent, []byte("apiVersion: v1\nkind: Config\nclusters: []\n"), 0o600)
	if _, err := loadKubeconfig(noCurrent, "", time.Second, time.Now); err == nil || !strings.Contains(err.Error(), "no context given and no current-context set") {
		t.Errorf("no current-context: %v", err)
	}
	notYAML := filepath.Join(dir, "bad")
	os.WriteFile(notYAML, []byte("clusters: [\n"), 0o600)
	if _, err := loadKubeconfig(notYAML, "", time.Second, time.Now); err == nil || !strings.Contains(err.Error(), "kubeconfig "+notYAML) {
		t.Errorf("not YAML: %v", err)
	}
	if _, err := loadKubeconfig(filepath.Join(dir, "missing"), "", time.Second, time.Now); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestKubernetesConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  KubernetesConfig
		want string
	}{
		{KubernetesConfig{Name: "api"}, "a.kind: required (Deployment or StatefulSet)"},
		{KubernetesConfig{Kind: "deployment", Name: "api"}, `a.kind: "deployment" is not Deployment or StatefulSet`},
		{KubernetesConfig{Kind: "Deployment"}, "a.name: required"},
		{KubernetesConfig{Kind: "Deployment", Name: "API_Server"}, `a.name: "API_Server" is not a Kubernetes object name`},
		{KubernetesConfig{Kind: "Deployment", Name: "api", Namespace: "web.prod"}, `a.namespace: "web.prod" is not a Kubernetes namespace name`},
		{KubernetesConfig{Kind: "Deployment", Name: "api", Context: "prod"}, "a.context: only means something with kubeconfig"},
		{KubernetesConfig{Kind: "Deployment", Name: "api", Timeout: -1}, "a.timeout: must not be negative"},
	}
	for _, tc := range tests {
		var all []string
		for _, e := range tc.cfg.Validate("a") {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%+v: errors %q, want %q", tc.cfg, all, tc.want)
		}
	}
	for _, good := range []KubernetesConfig{
		{Kind: "Deployment", Name: "api"},
		{Kind: "StatefulSet", Name: "read-pool.v2", Namespace: "data", Kubeconfig: "/etc/wedsync/kubeconfig", Context: "prod"},
	} {
		if errs := good.Validate("a"); len(errs) != 0 {
			t.Errorf("%+v: %v", good, errs)
		}
	}
}
