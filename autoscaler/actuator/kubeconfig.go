package actuator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// How the Kubernetes actuator reaches an API server, without client-go:
//
//   - In a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
//     the service account's token, ca.crt and namespace under
//     /var/run/secrets/kubernetes.io/serviceaccount. The token is a bound,
//     expiring token that the kubelet rewrites; it is read again every
//     minute, as client-go does.
//   - From a kubeconfig file (clientcmd's v1 format): clusters, users,
//     contexts, current-context. Supported: server, certificate-authority
//     (-data), insecure-skip-tls-verify, tls-server-name, proxy-url; user
//     token, tokenFile (token wins when both are set), client-certificate
//     (-data) and client-key(-data) (-data wins over the file). Relative
//     paths are relative to the kubeconfig's folder. Exec plugins and
//     auth-providers run foreign programs and are refused, as is basic
//     authentication (removed from Kubernetes in 1.19). One file only: no
//     $KUBECONFIG merging.

// inClusterEnv is where in-cluster configuration comes from; tests point it
// at a temporary folder and their own variables.
type inClusterEnv struct {
	getenv func(string) string
	dir    string
}

func defaultInClusterEnv() inClusterEnv {
	return inClusterEnv{getenv: os.Getenv, dir: "/var/run/secrets/kubernetes.io/serviceaccount"}
}

// kubeConn is one API server and the credentials to call it.
type kubeConn struct {
	server    *url.URL
	client    *http.Client
	token     *tokenSource // nil without a bearer token (client certificates)
	namespace string       // the context's or the service account's; may be empty
	source    string       // for messages: "in-cluster service account" or the kubeconfig
}

// tokenSource yields a bearer token, re-reading a token file at most once a
// minute and at once after the server refused it.
type tokenSource struct {
	static string
	file   string
	now    func() time.Time

	mu     sync.Mutex
	value  string
	readAt time.Time
}

const tokenReread = time.Minute

func (t *tokenSource) get() (string, error) {
	if t.file == "" {
		return t.static, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value != "" && t.now().Sub(t.readAt) < tokenReread {
		return t.value, nil
	}
	b, err := os.ReadFile(t.file)
	if err != nil {
		if t.value != "" {
			// Keep the last good token through a brief gap while the
			// kubelet swaps the file.
			return t.value, nil
		}
		return "", fmt.Errorf("read token: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("token file %s is empty", t.file)
	}
	t.value, t.readAt = v, t.now()
	return v, nil
}

func (t *tokenSource) invalidate() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.readAt = time.Time{}
	t.mu.Unlock()
}

func inClusterConn(env inClusterEnv, timeout time.Duration, now func() time.Time) (*kubeConn, error) {
	host, port := env.getenv("KUBERNETES_SERVICE_HOST"), env.getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset): set kubeconfig")
	}
	server, err := url.Parse("https://" + net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("in-cluster API server: %w", err)
	}
	ts := &tokenSource{file: filepath.Join(env.dir, "token"), now: now}
	if _, err := ts.get(); err != nil {
		return nil, fmt.Errorf("in-cluster service account: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(env.dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("in-cluster service account: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("in-cluster service account: %s holds no PEM certificate", filepath.Join(env.dir, "ca.crt"))
	}
	ns := ""
	if b, err := os.ReadFile(filepath.Join(env.dir, "namespace")); err == nil {
		ns = strings.TrimSpace(string(b))
	}
	return &kubeConn{
		server:    server,
		client:    newKubeClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil, timeout),
		token:     ts,
		namespace: ns,
		source:    "in-cluster service account",
	}, nil
}

type kubeconfigFile struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string      `yaml:"name"`
		Cluster kubeCluster `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string   `yaml:"name"`
		User kubeUser `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			User      string `yaml:"user"`
			Namespace string `yaml:"namespace"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

type kubeCluster struct {
	Server                   string `yaml:"server"`
	CertificateAuthority     string `yaml:"certificate-authority"`
	CertificateAuthorityData string `yaml:"certificate-authority-data"`
	InsecureSkipTLSVerify    bool   `yaml:"insecure-skip-tls-verify"`
	TLSServerName            string `yaml:"tls-server-name"`
	ProxyURL                 string `yaml:"proxy-url"`
}

type kubeUser struct {
	Token                 string `yaml:"token"`
	TokenFile             string `yaml:"tokenFile"`
	ClientCertificate     string `yaml:"client-certificate"`
	ClientCertificateData string `yaml:"client-certificate-data"`
	ClientKey             string `yaml:"client-key"`
	ClientKeyData         string `yaml:"client-key-data"`
	Username              string `yaml:"username"`
	Password              string `yaml:"password"`
	Exec                  any    `yaml:"exec"`
	AuthProvider          any    `yaml:"auth-provider"`
}

func loadKubeconfig(path, contextName string, timeout time.Duration, now func() time.Time) (*kubeConn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	// Not strict: kubeconfigs carry preferences, extensions and fields of
	// newer versions that do not concern us.
	var kc kubeconfigFile
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	name := contextName
	if name == "" {
		name = kc.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("kubeconfig %s: no context given and no current-context set", path)
	}
	where := fmt.Sprintf("kubeconfig %s context %q", path, name)
	ctxIdx := -1
	for i, c := range kc.Contexts {
		if c.Name == name {
			ctxIdx = i
		}
	}
	if ctxIdx < 0 {
		return nil, fmt.Errorf("%s: no such context", where)
	}
	kctx := kc.Contexts[ctxIdx].Context
	var cluster *kubeCluster
	for i := range kc.Clusters {
		if kc.Clusters[i].Name == kctx.Cluster {
			cluster = &kc.Clusters[i].Cluster
		}
	}
	if cluster == nil {
		return nil, fmt.Errorf("%s: cluster %q not found", where, kctx.Cluster)
	}
	var user kubeUser
	if kctx.User != "" {
		found := false
		for _, u := range kc.Users {
			if u.Name == kctx.User {
				user, found = u.User, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: user %q not found", where, kctx.User)
		}
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}

	server, err := url.Parse(cluster.Server)
	if err != nil || server.Host == "" || (server.Scheme != "https" && server.Scheme != "http") {
		return nil, fmt.Errorf("%s: cluster server %q is not an http(s) URL", where, redact(cluster.Server))
	}
	if server.Scheme == "http" {
		if ip := net.ParseIP(server.Hostname()); server.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("%s: plain http to %s would send credentials in clear; use https", where, server.Host)
		}
	}

	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cluster.TLSServerName}
	caPEM, err := fileOrData(cluster.CertificateAuthorityData, rel(cluster.CertificateAuthority))
	if err != nil {
		return nil, fmt.Errorf("%s: certificate-authority: %w", where, err)
	}
	if caPEM != nil {
		if cluster.InsecureSkipTLSVerify {
			// kubectl refuses the same combination: one of them is a mistake.
			return nil, fmt.Errorf("%s: certificate-authority and insecure-skip-tls-verify together are not allowed", where)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%s: certificate-authority holds no PEM certificate", where)
		}
		tc.RootCAs = pool
	}
	tc.InsecureSkipVerify = cluster.InsecureSkipTLSVerify

	certPEM, err := fileOrData(user.ClientCertificateData, rel(user.ClientCertificate))
	if err != nil {
		return nil, fmt.Errorf("%s: client-certificate: %w", where, err)
	}
	keyPEM, err := fileOrData(user.ClientKeyData, rel(user.ClientKey))
	if err != nil {
		return nil, fmt.Errorf("%s: client-key: %w", where, err)
	}
	switch {
	case certPEM != nil && keyPEM != nil:
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate: %w", where, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case certPEM != nil || keyPEM != nil:
		return nil, fmt.Errorf("%s: a client certificate needs both client-certificate and client-key", where)
	}

	var ts *tokenSource
	switch {
	case user.Token != "":
		ts = &tokenSource{static: user.Token}
	case user.TokenFile != "":
		ts = &tokenSource{file: rel(user.TokenFile), now: now}
		if _, err := ts.get(); err != nil {
			return nil, fmt.Errorf("%s: tokenFile: %w", where, err)
		}
	}
	if ts == nil && tc.Certificates == nil {
		switch {
		case user.Exec != nil:
			return nil, fmt.Errorf("%s: user %q authenticates through an exec plugin, which this actuator does not run; give it a service-account token (token or tokenFile) or a client certificate", where, kctx.User)
		case user.AuthProvider != nil:
			return nil, fmt.Errorf("%s: user %q uses an auth-provider, which this actuator does not support; give it a token or a client certificate", where, kctx.User)
		case user.Username != "" || user.Password != "":
			return nil, fmt.Errorf("%s: user %q uses basic authentication, which Kubernetes removed in 1.19", where, kctx.User)
		}
	}

	var proxy func(*http.Request) (*url.URL, error)
	if cluster.ProxyURL != "" {
		pu, err := url.Parse(cluster.ProxyURL)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("%s: proxy-url %q is not a URL", where, redact(cluster.ProxyURL))
		}
		proxy = http.ProxyURL(pu)
	}
	return &kubeConn{
		server:    server,
		client:    newKubeClient(tc, proxy, timeout),
		token:     ts,
		namespace: kctx.Namespace,
		source:    where,
	}, nil
}

// fileOrData returns base64-decoded data, else the file's content, else nil.
func fileOrData(data, file string) ([]byte, error) {
	if data != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("-data is not base64: %w", err)
		}
		return b, nil
	}
	if file != "" {
		return os.ReadFile(file)
	}
	return nil, nil
}

func newKubeClient(tc *tls.Config, proxy func(*http.Request) (*url.URL, error), timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	if proxy != nil {
		tr.Proxy = proxy
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
