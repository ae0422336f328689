package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogging(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--log.level=debug", "--log.format=json"}, ""},
		{[]string{"--log.level=loud"}, `--log.level: "loud" is not debug, info, warn or error`},
		{[]string{"--log.format=xml"}, `--log.format: "xml" is not json or logfmt`},
	} {
		var l Logging
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		l.Register(fs, "info", "logfmt")
		fs.Parse(tc.args)
		var buf bytes.Buffer
		lg, err := l.Logger(&buf)
		var fe *FlagError
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err || !errors.As(err, &fe)):
			t.Errorf("%v: %v, want flag error %q", tc.args, err, tc.err)
		case tc.err == "":
			lg.Info("hello")
			if !strings.Contains(buf.String(), "hello") {
				t.Errorf("%v: nothing logged", tc.args)
			}
		}
	}
}

func TestDatabaseURL(t *testing.T) {
	f := filepath.Join(t.TempDir(), "url")
	os.WriteFile(f, []byte("postgres://x/y\n"), 0o600)
	if u, err := (Database{URLFile: f}).URL(); err != nil || u != "postgres://x/y" {
		t.Fatalf("file: %q %v", u, err)
	}
	t.Setenv(DatabaseEnv, "postgres://env/db")
	if u, err := (Database{}).URL(); err != nil || u != "postgres://env/db" {
		t.Fatalf("env: %q %v", u, err)
	}
	t.Setenv(DatabaseEnv, "")
	if _, err := (Database{}).URL(); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("none: %v", err)
	}
	if _, err := (Database{URLFile: filepath.Join(t.TempDir(), "missing")}).URL(); err == nil || !strings.Contains(err.Error(), "--database.url-file") {
		t.Fatalf("missing file: %v", err)
	}
}
