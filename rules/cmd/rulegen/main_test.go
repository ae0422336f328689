package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/wedsync/scaling/rules"
)

func TestRunWritesEveryProfile(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"-out", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	for _, profile := range rules.Profiles() {
		want, err := rules.Render(profile, rules.DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range rules.Files {
			got, err := os.ReadFile(filepath.Join(out, profile, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[name]) {
				t.Errorf("%s/%s differs from rules.Render", profile, name)
			}
		}
	}
	if got, want := bytes.Count(stdout.Bytes(), []byte("wrote ")), len(rules.Profiles())*len(rules.Files); got != want {
		t.Errorf("reported %d files written, want %d:\n%s", got, want, stdout.String())
	}
}

func TestRunRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stray argument", []string{"-out", t.TempDir(), "production"}, `unexpected arguments ["production"]`},
		{"unknown flag", []string{"-profile", "demo"}, "flag provided but not defined: -profile"},
	}
	for _, tt := range tests {
		var stdout bytes.Buffer
		err := run(context.Background(), tt.args, &stdout)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: run error = %v, want %q", tt.name, err, tt.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"-out", t.TempDir()}, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: error = %v, want context.Canceled", err)
	}

	if err := run(context.Background(), []string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error = %v, want flag.ErrHelp", err)
	}
}
