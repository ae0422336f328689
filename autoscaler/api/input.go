package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wedsync/scaling/core/currency"
)

// The limits of the API's text input, in characters: the one place they
// are written. Handlers check their fields against these, and the
// OpenAPI document's maxLength values are tested against them.
const (
	maxNameLen           = 200 // budget_name, a capacity plan's name, a load test's name, a phase
	maxReasonLen         = 500 // reasons and titles that end up in the event log
	maxLabelLen          = 200 // custom metric label names and values
	maxUnitLen           = 50
	maxTargetURLLen      = 2000
	maxIdempotencyKeyLen = 200
	maxLabels            = 20
	maxQueryValueLen     = 500 // any query parameter
)

// Time ranges: both ends within these years, and at most maxRangeDays
// long, so that no range overflows a duration or dates a cost in another
// century.
const (
	minRangeYear = 2000
	maxRangeYear = 2100
	maxRangeDays = 400
)

// checkText refuses what no text field may hold: invalid UTF-8 and NUL
// (PostgreSQL text refuses both, after the action would already have run).
func checkText(field, s string) *apiError {
	switch {
	case !utf8.ValidString(s):
		return errBadRequest(field, "%s: not valid UTF-8", orRequest(field))
	case strings.IndexByte(s, 0) >= 0:
		return errBadRequest(field, "%s: contains a NUL character (U+0000)", orRequest(field))
	}
	return nil
}

// checkLen refuses s when it is longer than max characters.
func checkLen(field, s string, max int) *apiError {
	if n := utf8.RuneCountInString(s); n > max {
		return errBadRequest(field, "%s: %d characters, at most %d", field, n, max)
	}
	return nil
}

func orRequest(field string) string {
	if field == "" {
		return "request body"
	}
	return field
}

var wildcardRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// checkRequest refuses, before any handler runs, text that no field may
// hold anywhere in the request: path values, query parameters, the
// Idempotency-Key and every string (key or value) of a JSON body.
func checkRequest(pattern string, hr *http.Request, body []byte) *apiError {
	for _, m := range wildcardRE.FindAllStringSubmatch(pattern, -1) {
		if e := checkText(m[1], hr.PathValue(m[1])); e != nil {
			return e
		}
	}
	q, err := url.ParseQuery(hr.URL.RawQuery)
	if err != nil {
		return errBadRequest("", "query string: malformed (%v)", err)
	}
	for k, vs := range q {
		if e := checkText(k, k); e != nil {
			return errBadRequest("", "a query parameter's name is not valid UTF-8 or contains NUL")
		}
		for _, v := range vs {
			if e := checkText(k, v); e != nil {
				return e
			}
			if e := checkLen(k, v, maxQueryValueLen); e != nil {
				return e
			}
		}
	}
	// ?currency= selects cost rows by ISO 4217 code: an unknown one would
	// select nothing and show 0.00, which reads as "no cost".
	if v := q.Get("currency"); v != "" {
		if _, err := currency.Digits(v); err != nil {
			return errBadRequest("currency", "currency: %v", err)
		}
	}
	if key := hr.Header.Get("Idempotency-Key"); key != "" {
		if e := checkText("Idempotency-Key", key); e != nil {
			return e
		}
		if e := checkLen("Idempotency-Key", key, maxIdempotencyKeyLen); e != nil {
			return e
		}
	}
	return checkJSONText(body)
}

// frame is where a JSON walk is inside one object or array.
type frame struct {
	object    bool
	expectKey bool
	key       string
	index     int
}

func pathOf(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case f.object && f.key != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		case !f.object:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// checkJSONText walks a JSON body token by token and names the field of
// the first string that holds invalid UTF-8 or a NUL, raw or escaped as
// \u0000 (the escaped backslash `\\u0000` is text, and legal). The
// standard decoder would have replaced the invalid bytes with U+FFFD and
// kept the NUL, so the walk finds the byte offset of the first bad byte
// and reports the token that spans it. Syntax errors are left to decode,
// which reports them; a body that is not JSON at all is the handler's
// business (nothing here has a JSON body that is not an object).
func checkJSONText(body []byte) *apiError {
	bad := firstBadByte(body)
	if bad < 0 && !bytes.Contains(body, []byte(`u0000`)) {
		return nil // the common case: nothing to find
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	consumed := func() { // a value ended in the current container
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].expectKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if bad >= 0 {
				return badText(pathOf(stack), body[bad])
			}
			return nil // malformed: decode says where
		}
		inBad := bad >= 0 && int64(bad) < dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if inBad {
					return badText(pathOf(stack), body[bad])
				}
				stack = append(stack, frame{object: t == '{', expectKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				consumed()
			}
		case string:
			n := len(stack)
			isKey := n > 0 && stack[n-1].object && stack[n-1].expectKey
			if isKey {
				// A bad key is reported at its object: it is no name to show.
				stack[n-1].key = ""
			}
			if inBad {
				return badText(pathOf(stack), body[bad])
			}
			if strings.IndexByte(t, 0) >= 0 {
				return badText(pathOf(stack), 0)
			}
			if isKey {
				stack[n-1].key, stack[n-1].expectKey = t, false
			} else {
				consumed()
			}
		default:
			if inBad {
				return badText(pathOf(stack), body[bad])
			}
			consumed()
		}
	}
	if bad >= 0 {
		return badText("", body[bad])
	}
	return nil
}

func badText(field string, b byte) *apiError {
	if b == 0 {
		return errBadRequest(field, "%s: contains a NUL character (U+0000)", orRequest(field))
	}
	return errBadRequest(field, "%s: not valid UTF-8", orRequest(field))
}

// firstBadByte is the offset of the first byte of b that is not UTF-8 or
// is NUL, -1 if none.
func firstBadByte(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] == 0 {
			return i
		}
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// checkRange refuses a time range outside [minRangeYear, maxRangeYear] or
// longer than maxRangeDays, naming the parameter.
func checkRange(from, to time.Time) *apiError {
	for _, p := range []struct {
		name string
		t    time.Time
	}{{"from", from}, {"to", to}} {
		if y := p.t.UTC().Year(); y < minRangeYear || y > maxRangeYear {
			return errBadRequest(p.name, "%s: %s is outside the years %d to %d", p.name, p.t.Format(time.RFC3339), minRangeYear, maxRangeYear)
		}
	}
	if to.Sub(from) > maxRangeDays*24*time.Hour {
		return errBadRequest("from", "from: the range %s to %s is longer than %d days", from.Format(time.RFC3339), to.Format(time.RFC3339), maxRangeDays)
	}
	return nil
}

// noBody refuses a body on a call that takes none (only {} or nothing).
func (r *request) noBody() error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	var none struct{}
	return r.decode(&none)
}

// dbTextRE matches what a database error looks like. No response body
// may carry one: the store's errors are mapped to the API's, and this is
// the last line that keeps a missed one out of the answer.
var dbTextRE = regexp.MustCompile(`SQLSTATE|constraint|violates|pq:|ERROR:`)

func leaksDatabase(msg string) bool { return dbTextRE.MatchString(msg) }

// pathAtOffset is the path of the value that ends at byte offset off of
// body (where encoding/json reports a type error).
func pathAtOffset(body []byte, off int64) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		n := len(stack)
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				if dec.InputOffset() >= off { // a container where a scalar belongs
					return pathOf(stack), true
				}
				stack = append(stack, frame{object: d == '{', expectKey: d == '{'})
				continue
			}
			stack = stack[:n-1]
		} else if k, ok := tok.(string); ok && n > 0 && stack[n-1].object && stack[n-1].expectKey {
			stack[n-1].key, stack[n-1].expectKey = k, false
			continue
		} else if dec.InputOffset() >= off {
			return pathOf(stack), true
		}
		if n := len(stack); n > 0 { // a value ended
			if stack[n-1].object {
				stack[n-1].expectKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
}

// unknownFieldPath finds where in body the unknown field name sits, for
// v's type: encoding/json names only the key, and a nested one
// ("scaling_config.services.api.min_replica") must be named whole. "" if
// it cannot be found (the caller then names the key alone).
func unknownFieldPath(body []byte, v any, name string) string {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return ""
	}
	return findUnknown(doc, reflect.TypeOf(v), "", name)
}

func findUnknown(doc any, t reflect.Type, path, name string) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == reflect.TypeOf(json.RawMessage(nil)) {
		return ""
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return ""
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			fields[strings.ToLower(tag)] = f.Type // encoding/json matches keys without case
		}
		for _, k := range sortedKeys(obj) {
			ft, known := fields[strings.ToLower(k)]
			if !known {
				if k == name {
					return join(k)
				}
				continue
			}
			if p := findUnknown(obj[k], ft, join(k), name); p != "" {
				return p
			}
		}
	case reflect.Map:
		obj, ok := doc.(map[string]any)
		if !ok {
			return ""
		}
		for _, k := range sortedKeys(obj) {
			if p := findUnknown(obj[k], t.Elem(), join(k), name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := doc.([]any)
		if !ok {
			return ""
		}
		for i, x := range arr {
			if p := findUnknown(x, t.Elem(), path+"["+strconv.Itoa(i)+"]", name); p != "" {
				return p
			}
		}
	}
	return ""
}

// decodeStrict decodes raw (a part of the body at field prefix) into v
// with decode's rules, naming fields from the body's top.
func decodeStrict(raw []byte, v any, prefix string) error {
	r := &request{body: raw}
	err := r.decode(v)
	var ae *apiError
	if !errors.As(err, &ae) || prefix == "" {
		return err
	}
	field := prefix
	if ae.Field != "" {
		field = prefix + "." + ae.Field
	}
	msg := ae.Message
	if ae.Field != "" {
		msg = strings.TrimPrefix(msg, ae.Field+": ")
	}
	return errBadRequest(field, "%s: %s", field, msg)
}
