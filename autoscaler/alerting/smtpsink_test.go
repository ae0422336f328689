package alerting

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// smtpSink is an SMTP relay on loopback, just enough of RFC 5321 for
// Alertmanager's email integration: it offers AUTH PLAIN, keeps the
// credentials it was given and the Subject of every message.
type smtpSink struct {
	ln       net.Listener
	mu       sync.Mutex
	subjects []string
	auths    []string // "user:password"
	rcpts    []string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) Addr() string { return s.ln.Addr().String() }

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	reply := func(line string) bool { return tp.PrintfLine("%s", line) == nil }
	if !reply("220 sink ESMTP") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			reply("250-sink\r\n250 AUTH PLAIN")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 {
				reply("504 only AUTH PLAIN with an initial response")
				continue
			}
			s.mu.Lock()
			s.auths = append(s.auths, parts[1]+":"+parts[2])
			s.mu.Unlock()
			reply("235 accepted")
		case "MAIL":
			reply("250 ok")
		case "RCPT":
			s.mu.Lock()
			s.rcpts = append(s.rcpts, arg)
			s.mu.Unlock()
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			msg, err := mail.ReadMessage(bufio.NewReader(tp.DotReader()))
			if err != nil {
				reply("554 unreadable message")
				continue
			}
			s.mu.Lock()
			s.subjects = append(s.subjects, msg.Header.Get("Subject"))
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// count is how many messages had a Subject starting with prefix.
func (s *smtpSink) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.subjects {
		if strings.HasPrefix(sub, prefix) {
			n++
		}
	}
	return n
}
