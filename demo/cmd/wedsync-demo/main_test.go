package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--load.peak=10", "--load.background=30"}, "--load.peak (10) must be above --load.background (30)"},
		{[]string{"--load.background=-1"}, "both positive"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); err != nil || !strings.Contains(out.String(), "-keep") {
		t.Fatalf("-h: %v %s", err, out.String())
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`{"replicas": 4}`: "4 replicas", `{"tier": "ci_small"}`: "tier ci_small", `{"x": 1}`: `{"x": 1}`, `oops`: "oops"} {
		if got := state([]byte(in)); got != want {
			t.Errorf("state(%s) = %q, want %q", in, got, want)
		}
	}
}
