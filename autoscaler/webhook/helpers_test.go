package webhook_test

import (
	"bytes"
	"io"
	"log/slog"
	"regexp"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// scrubHost replaces the recording machine's name in externalURL, so that
// fixtures do not depend on where they were recorded.
func scrubHost(b []byte) []byte {
	return regexp.MustCompile(`"externalURL":"http://[^"]*"`).ReplaceAll(b, []byte(`"externalURL":"http://alertmanager.example:9093"`))
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
