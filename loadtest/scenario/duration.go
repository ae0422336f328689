package scenario

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/config"
)

// Duration is a k6 duration. In JSON, as k6 reads it: a string in Go's
// form ("30s", "1m30s", "1.5s") or a number of milliseconds. In YAML, a
// string in Go's or Prometheus's form ("2h", "1d"); a bare number is refused
// there, as in every YAML file of ours, because it could mean anything.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration so that both k6 and we read it back.
func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return Duration(d), nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration %q: want e.g. 30s, 1m30s, 500ms, 2h", s)
	}
	return Duration(d), nil
}

// UnmarshalJSON reads a string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := parseDuration(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil || ms > float64(1<<62)/1e6 || ms < -float64(1<<62)/1e6 {
		return fmt.Errorf("not a duration %s: want a string such as \"30s\" or milliseconds", b)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

// MarshalJSON writes the Go form, which k6 reads.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalYAML reads a string; a malformed one is reported with its line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!int" || n.Tag == "!!float" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration needs a unit, e.g. 30s or 2m (got %q)", n.Line, n.Value)}}
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes the Go form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
