package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time span read and written the way Prometheus writes
// durations ("10s", "1h30m", "2w"), so that templates can print it straight
// into rule files and every config reads like Prometheus's own. A bare
// number is refused: "10" could mean seconds or nanoseconds, and guessing is
// how outages start.
//
// Unlike Prometheus, a leading '-' is accepted by the parser: a negative
// value is then reported by Validate with its field path, which says more
// than a parse error would.
type Duration time.Duration

// Units in the order Prometheus requires them, largest first.
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"y", 365 * 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// ParseDuration parses a Prometheus duration such as "5m", "1h30m" or "0".
func ParseDuration(s string) (Duration, error) {
	body, negative := strings.CutPrefix(s, "-")
	if body == "" {
		return 0, errors.New("empty duration")
	}
	if body == "0" {
		return 0, nil
	}
	var total time.Duration
	next := 0 // index into durationUnits: units must appear largest first, each once
	for body != "" {
		i := 0
		for i < len(body) && body[i] >= '0' && body[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("not a Prometheus duration %q: expected a number at %q", s, body)
		}
		n, err := strconv.ParseInt(body[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a Prometheus duration %q: %w", s, err)
		}
		body = body[i:]
		j := 0
		for j < len(body) && (body[j] < '0' || body[j] > '9') {
			j++
		}
		unit := body[:j]
		body = body[j:]
		k := next
		for k < len(durationUnits) && durationUnits[k].name != unit {
			k++
		}
		if k == len(durationUnits) {
			if unit == "" {
				return 0, fmt.Errorf("not a Prometheus duration %q: missing unit (one of y, w, d, h, m, s, ms)", s)
			}
			return 0, fmt.Errorf("not a Prometheus duration %q: unit %q unknown or out of order (y, w, d, h, m, s, ms)", s, unit)
		}
		next = k + 1
		u := durationUnits[k].d
		if n > int64((1<<63-1)/u) {
			return 0, fmt.Errorf("not a Prometheus duration %q: too long", s)
		}
		part := time.Duration(n) * u
		if total > (1<<63-1)-part {
			return 0, fmt.Errorf("not a Prometheus duration %q: too long", s)
		}
		total += part
	}
	if negative {
		total = -total
	}
	return Duration(total), nil
}

// String formats d the way Prometheus does: "0s", "90s" as "1m30s", and years
// or weeks only when they divide d exactly (so "90d" rather than "12w6d").
// Anything below a millisecond is dropped, as Prometheus cannot express it.
func (d Duration) String() string {
	ms := time.Duration(d) / time.Millisecond
	if ms == 0 {
		return "0s"
	}
	var b strings.Builder
	if ms < 0 {
		b.WriteByte('-')
		ms = -ms
	}
	for _, u := range durationUnits {
		um := u.d / time.Millisecond
		if (u.name == "y" || u.name == "w") && ms%um != 0 {
			continue
		}
		if v := ms / um; v > 0 {
			fmt.Fprintf(&b, "%d%s", v, u.name)
			ms -= v * um
		}
	}
	return b.String()
}

// Seconds returns d in seconds, for arithmetic in templates and validation.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reports a malformed duration as a yaml.TypeError so that the
// decoder keeps going and lists it with the other problems, line included.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot read a duration from a %s", n.Line, nodeKind(n))}}
	}
	v, err := ParseDuration(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes d back in Prometheus form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	default:
		return "scalar"
	}
}
