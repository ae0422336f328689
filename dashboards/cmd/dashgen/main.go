// Command dashgen writes the dashboards of package wedsync as JSON:
//
//	go run ./cmd/dashgen -out dist
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wedsync/scaling/dashboards/wedsync"
)

func main() {
	out := flag.String("out", "dist", "folder to write the dashboards to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	files, err := wedsync.Render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
