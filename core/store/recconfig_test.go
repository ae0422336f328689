package store_test

import (
	"testing"

	"github.com/wedsync/scaling/core/store"
)

// The constructors write the keys of docs/contracts.md's table, zeros and
// false included, and what they write is what the implementation parses
// back, with the action it implies.
func TestRecommendedConfigShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		cfg        store.RecommendedConfig
		json       string
		actionable bool
	}{
		{"horizontal", store.ReplicaConfig(3, 2, 20), `{"replicas":3,"min_replicas":2,"max_replicas":20}`, true},
		{"vertical", store.TierConfig("small", "small", "large"), `{"tier":"small","min_tier":"small","max_tier":"large"}`, true},
		{"caching", store.CacheConfig("small", true), `{"tier":"small","cache":true}`, false},
		// current_config of a caching recommendation: false is written.
		{"no cache", store.CacheConfig("small", false), `{"tier":"small","cache":false}`, true},
		// A zero is a value, not an absence (the parser then refuses it by name).
		{"zero floor", store.ReplicaConfig(0, 0, 4), `{"replicas":0,"min_replicas":0,"max_replicas":4}`, true},
	} {
		if got := string(c.cfg.JSON()); got != c.json {
			t.Errorf("%s: %s, want %s", c.name, got, c.json)
			continue
		}
		back, err := store.ParseRecommendedConfig(c.cfg.JSON())
		if c.name == "zero floor" {
			if err == nil {
				t.Errorf("%s: a floor of 0 accepted", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(back.JSON()) != c.json || back.Actionable() != c.actionable || back.Caches() != (c.name == "caching") {
			t.Errorf("%s: read back as %s, actionable %v, caches %v", c.name, back.JSON(), back.Actionable(), back.Caches())
		}
	}
}
