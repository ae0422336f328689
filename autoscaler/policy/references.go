package policy

import (
	"fmt"
	"sort"
)

// Reference is a value of the policy that points outside it — a PromQL
// query or a file — with the path of the field that holds it, for checks
// that Validate cannot make without parsers or the filesystem
// (wedsync-autoscaler check-config).
type Reference struct {
	Field string // e.g. services.api.metrics[0].query
	Value string
}

// Queries lists every PromQL query of the policy, services in name order.
func (f *File) Queries() []Reference {
	var refs []Reference
	for _, name := range f.serviceNames() {
		s, p := f.Services[name], "services."+name
		for i, m := range s.Metrics {
			refs = append(refs, Reference{fmt.Sprintf("%s.metrics[%d].query", p, i), m.Query})
		}
		if q := s.Queue; q != nil {
			refs = append(refs, Reference{p + ".queue.arrival_rate_query", q.ArrivalRateQuery},
				Reference{p + ".queue.backlog_query", q.BacklogQuery})
		}
	}
	return refs
}

// SecretFiles lists every file the services' actuators read credentials
// from: secrets given as {file: ...} and kubeconfigs. Secrets given as
// {env: ...} are not files and are left out. TestSecretFilesCoverActuators
// holds this list to the actuator config types.
func (f *File) SecretFiles() []Reference {
	var refs []Reference
	for _, name := range f.serviceNames() {
		a, p := f.Services[name].Actuator, "services."+name+".actuator"
		if a.HTTP != nil && a.HTTP.BearerToken.File != "" {
			refs = append(refs, Reference{p + ".http.bearer_token.file", a.HTTP.BearerToken.File})
		}
		if a.Supabase != nil && a.Supabase.AccessToken.File != "" {
			refs = append(refs, Reference{p + ".supabase.access_token.file", a.Supabase.AccessToken.File})
		}
		if a.Kubernetes != nil && a.Kubernetes.Kubeconfig != "" {
			refs = append(refs, Reference{p + ".kubernetes.kubeconfig", a.Kubernetes.Kubeconfig})
		}
	}
	return refs
}

// serviceNames: the non-empty services in name order.
func (f *File) serviceNames() []string {
	names := make([]string, 0, len(f.Services))
	for n, s := range f.Services {
		if s != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
