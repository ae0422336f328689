package api_test

import (
	"encoding/json"
	"time"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

var fixtureEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
