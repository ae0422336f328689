package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Limits on what a notification and its alerts may carry, in bytes. Every
// label and annotation is stored (alerts, decisions) and some are acted on
// or shown (the reason becomes an event's trigger_reason): a 1,000-byte
// reason is a mistake or an attack, never an alerting rule. Generous for
// Alertmanager's own output: fingerprints are 16 hex digits, group keys a
// few route matchers, and our rules' labels a few words.
const (
	MaxLabelName       = 128
	MaxLabelValue      = 256 // alertname, scaling_service, scaling_action, reason and every other label
	MaxAnnotationValue = 4096
	MaxLabels          = 64 // labels per alert; annotations the same
	MaxFingerprint     = 64
	MaxGroupKey        = 4096
	MaxReceiver        = 256
)

// checkLength names a field over its limit.
func checkLength(field, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%s: %d bytes, over the limit of %d", field, len(v), limit)
	}
	return nil
}

// containsNUL reports a NUL character anywhere in a JSON document (a raw
// NUL byte is not JSON; the escape \u0000 is). PostgreSQL stores neither
// text nor jsonb with one, and the body is stored as received, so such a
// notification cannot be recorded at all: it is refused as a whole, by us
// and with a clear message rather than by the database.
func containsNUL(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return false // the common case: no escape that could decode to NUL
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false // malformed: reported as such by the decoder
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return strings.IndexByte(v, 0) >= 0
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range v {
				if strings.IndexByte(k, 0) >= 0 || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// checkKV checks a label or annotation set, names in order so the first
// problem reported is always the same.
func checkKV(field string, kv map[string]string, valueLimit int) error {
	if len(kv) > MaxLabels {
		return fmt.Errorf("%s: %d entries, over the limit of %d", field, len(kv), MaxLabels)
	}
	names := make([]string, 0, len(kv))
	for k := range kv {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := checkLength(field+" name "+quoteShort(k), k, MaxLabelName); err != nil {
			return err
		}
		if err := checkLength(field+"."+k, kv[k], valueLimit); err != nil {
			return err
		}
	}
	return nil
}

// quoteShort quotes a name for an error message, cut so that an oversized
// name does not make an oversized message.
func quoteShort(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q…", s[:40])
	}
	return fmt.Sprintf("%q", s)
}
