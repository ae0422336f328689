package api

import (
	"encoding/json"
	"regexp"

	"github.com/shopspring/decimal"
)

// rawJSON embeds stored JSON as-is in a response.
func rawJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isUUID keeps malformed ids from reaching PostgreSQL as a cast error: an id
// that cannot exist is simply not found.
func isUUID(s string) bool { return uuidRE.MatchString(s) }

var serviceNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)

// backTestScore prints a back-test score (a share in [0,1], computed by the
// forecast models) to three places, as a decimal string.
func backTestScore(v float64) string { return decimal.NewFromFloat(v).StringFixed(3) }
