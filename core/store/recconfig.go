package store

import "encoding/json"

// ReplicaConfig is a horizontal or queue service's config: a target of n
// replicas within [lo, hi].
func ReplicaConfig(n, lo, hi int) RecommendedConfig {
	return RecommendedConfig{Replicas: &n, Bounds: Bounds{MinReplicas: &lo, MaxReplicas: &hi}}
}

// TierConfig is a vertical service's config: tier within [lo, hi] along
// its ladder.
func TierConfig(tier, lo, hi string) RecommendedConfig {
	return RecommendedConfig{Tier: tier, Bounds: Bounds{MinTier: lo, MaxTier: hi}}
}

// CacheConfig is a caching config: the service's tier, with or without a
// cache in front of it.
func CacheConfig(tier string, cache bool) RecommendedConfig {
	return RecommendedConfig{Tier: tier, Cache: &cache}
}

// JSON is the config as stored in current_config or recommended_config.
func (c RecommendedConfig) JSON() json.RawMessage {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // ints, strings and a bool: cannot fail
	}
	return b
}
