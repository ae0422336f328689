package wedsync

import (
	"encoding/json"
	"fmt"
)

// Render builds every dashboard and returns its JSON by file name.
func Render() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range All() {
		db, err := d.Builder.Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		b, err := json.MarshalIndent(db, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		out[d.File] = append(b, '\n')
	}
	return out, nil
}
