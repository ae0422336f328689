package billing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// FOCUS (FinOps Open Cost and Usage Specification) 1.0–1.2 rows, from CSV
// files of any cloud and from Vercel's JSON lines. Real files bend the
// spec: datetimes without T or Z, M/D/YY dates, NULL or null literals, extra
// and missing columns, CRLF with blank lines. All of these are read; a row
// that still makes no sense is reported with its line and column and
// skipped, and the rest of the file stands.

// FocusOptions say how FOCUS rows become lines.
type FocusOptions struct {
	// CostColumn is the amount read: BilledCost (invoice basis, default),
	// EffectiveCost (amortized), ListCost or ContractedCost.
	CostColumn string `yaml:"cost_column,omitempty"`
	// Currency expected in BillingCurrency (default USD); a file without
	// that column is taken to be in it.
	Currency string `yaml:"currency,omitempty"`
	// Service names rows that carry no ServiceName, ProviderName or
	// PublisherName.
	Service string `yaml:"service,omitempty"`
}

// CostColumns are the FOCUS amount columns CostColumn may name.
var CostColumns = []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"}

func (o FocusOptions) withDefaults() FocusOptions {
	if o.CostColumn == "" {
		o.CostColumn = "BilledCost"
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	return o
}

// focusRecord is one row whatever its encoding.
type focusRecord interface {
	// get returns a column's value ("" when absent or null) and where it
	// sits, for error messages.
	get(col string) (string, string)
	// tags returns the Tags column as a map.
	tags() (map[string]string, error)
}

// line turns a FOCUS row into a Line.
func (o FocusOptions) line(r focusRecord, origin string) (Line, []RowError) {
	var errs []RowError
	bad := func(where string, format string, a ...any) {
		errs = append(errs, RowError{Where: where, Err: fmt.Errorf(format, a...)})
	}
	l := Line{Origin: origin}

	amount, where := r.get(o.CostColumn)
	if amount == "" {
		bad(where, "%s: missing (FOCUS requires it)", o.CostColumn)
	} else if d, err := decimal.NewFromString(amount); err != nil {
		bad(where, "%s: %q is not a number", o.CostColumn, amount)
	} else {
		l.Amount = d
	}

	cat, where := r.get("ChargeCategory")
	switch c := canonicalCategory(cat); {
	case cat == "":
		l.ChargeCategory = "Usage" // not in pre-1.0 files; usage is what they hold
	case c == "":
		bad(where, "ChargeCategory: %q is not one of %s", cat, strings.Join(ChargeCategories, ", "))
	default:
		l.ChargeCategory = c
	}
	if len(errs) == 0 {
		if err := CheckAmount(l.ChargeCategory, l.Amount); err != nil {
			_, where := r.get(o.CostColumn)
			bad(where, "%s: %v", o.CostColumn, err)
		}
	}

	cur, where := r.get("BillingCurrency")
	if cur == "" {
		cur = o.Currency
	}
	l.Currency = strings.ToUpper(cur)
	if l.Currency != o.Currency {
		bad(where, "BillingCurrency: %s, not %s", cur, o.Currency)
	}

	start, where := r.get("ChargePeriodStart")
	if start == "" {
		bad(where, "ChargePeriodStart: missing (FOCUS requires it)")
	} else if t, err := parseFocusTime(start); err != nil {
		bad(where, "ChargePeriodStart: %v", err)
	} else {
		l.Date = Day(t)
	}

	l.Service = first(r, "ServiceName", "ProviderName", "PublisherName", "InvoiceIssuerName")
	if l.Service == "" {
		l.Service = o.Service
	}
	l.Resource = first(r, "ResourceType", "SkuId", "ServiceSubcategory", "ServiceCategory", "ChargeDescription")
	l.ResourceID, _ = r.get("ResourceId")
	l.Project = first(r, "SubAccountId", "SubAccountName")
	if q, _ := r.get("ConsumedQuantity"); q != "" {
		if d, err := decimal.NewFromString(q); err == nil {
			l.UsageQuantity = decimal.NullDecimal{Decimal: d, Valid: true}
			l.UsageUnit, _ = r.get("ConsumedUnit")
		}
	}
	tags, err := r.tags()
	if err != nil {
		_, where := r.get("Tags")
		bad(where, "Tags: %v", err)
	}
	l.Tags = tags
	if p := tags["ProjectId"]; l.Project == "" && p != "" {
		l.Project = p
	}
	return l, errs
}

func first(r focusRecord, cols ...string) string {
	for _, c := range cols {
		if v, _ := r.get(c); v != "" {
			return v
		}
	}
	return ""
}

func canonicalCategory(s string) string {
	for _, c := range ChargeCategories {
		if strings.EqualFold(c, strings.TrimSpace(s)) {
			return c
		}
	}
	return ""
}

func isNull(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || strings.EqualFold(v, "null")
}

// Layouts seen in FOCUS files. Times without a zone are UTC, as the spec
// says every FOCUS datetime is.
var focusLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05 -0700 MST",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"1/2/06",
	"1/2/2006",
	"1/2/06 15:04",
	"1/2/2006 15:04",
	"1/2/2006 15:04:05",
}

func parseFocusTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range focusLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date or datetime", s)
}

// csvRecord is a CSV row with the positions of its fields.
type csvRecord struct {
	name   string
	cols   map[string]int // lower-case column name -> index
	fields []string
	line   int
	pos    func(field int) (line, col int)
	header map[string]string // lower-case name -> name as written
}

func (r csvRecord) get(col string) (string, string) {
	i, ok := r.cols[strings.ToLower(col)]
	if !ok {
		return "", fmt.Sprintf("%s:%d", r.name, r.line)
	}
	if i >= len(r.fields) {
		return "", fmt.Sprintf("%s:%d", r.name, r.line)
	}
	line, c := r.pos(i)
	where := fmt.Sprintf("%s:%d:%d", r.name, line, c)
	if isNull(r.fields[i]) {
		return "", where
	}
	return strings.TrimSpace(r.fields[i]), where
}

func (r csvRecord) tags() (map[string]string, error) {
	v, _ := r.get("Tags")
	return parseTags(v)
}

func parseTags(v string) (map[string]string, error) {
	out := map[string]string{}
	if v == "" {
		return out, nil
	}
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return out, fmt.Errorf("not a JSON object: %v", err)
	}
	for k, x := range raw {
		out[k] = tagString(x)
	}
	return out, nil
}

func tagString(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// ReadFOCUSCSV reads a FOCUS CSV file. The error is for the file as a whole
// (unreadable, no header, no amount column); row problems are in the
// returned RowErrors, and the rows around them are kept.
func ReadFOCUSCSV(r io.Reader, name string, opts FocusOptions) ([]Line, []RowError, error) {
	opts = opts.withDefaults()
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // extra and missing trailing columns are tolerated
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, nil, fmt.Errorf("%s: header: %w", name, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := cols[strings.ToLower(h)]; !dup && h != "" {
			cols[strings.ToLower(h)] = i
		}
	}
	for _, need := range []string{opts.CostColumn, "ChargePeriodStart"} {
		if _, ok := cols[strings.ToLower(need)]; !ok {
			return nil, nil, fmt.Errorf("%s:1: no %s column (FOCUS requires it)", name, need)
		}
	}
	var lines []Line
	var errs []RowError
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			errs = append(errs, RowError{Where: fmt.Sprintf("%s:%d:%d", name, pe.Line, pe.Column), Err: pe.Err})
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if allEmpty(fields) {
			continue // a row of commas: a blank line as some tools write it
		}
		rec := csvRecord{name: name, cols: cols, fields: fields, line: line, pos: cr.FieldPos}
		l, rowErrs := opts.line(rec, fmt.Sprintf("%s:%d", name, line))
		if len(rowErrs) > 0 {
			errs = append(errs, rowErrs...)
			if !onlyTagErrors(rowErrs) {
				continue
			}
		}
		lines = append(lines, l)
	}
	return lines, errs, nil
}

// onlyTagErrors: a malformed Tags column is reported, but the cost is kept
// (unattributed rather than lost).
func onlyTagErrors(errs []RowError) bool {
	for _, e := range errs {
		if !strings.HasPrefix(e.Err.Error(), "Tags: ") {
			return false
		}
	}
	return true
}

func allEmpty(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// jsonRecord is a FOCUS row read from a JSON object (Vercel's JSON lines).
type jsonRecord struct {
	origin string
	m      map[string]any
	lower  map[string]string // lower-case key -> key
}

func newJSONRecord(origin string, m map[string]any) jsonRecord {
	lower := make(map[string]string, len(m))
	for k := range m {
		lower[strings.ToLower(k)] = k
	}
	return jsonRecord{origin: origin, m: m, lower: lower}
}

func (r jsonRecord) get(col string) (string, string) {
	k, ok := r.lower[strings.ToLower(col)]
	where := r.origin
	if ok {
		where += " " + k
	}
	if !ok || r.m[k] == nil {
		return "", where
	}
	v := tagString(r.m[k])
	if isNull(v) {
		return "", where
	}
	return strings.TrimSpace(v), where
}

func (r jsonRecord) tags() (map[string]string, error) {
	k, ok := r.lower["tags"]
	if !ok || r.m[k] == nil {
		return map[string]string{}, nil
	}
	switch t := r.m[k].(type) {
	case map[string]any:
		out := make(map[string]string, len(t))
		for tk, tv := range t {
			out[tk] = tagString(tv)
		}
		return out, nil
	case string:
		return parseTags(t)
	}
	return map[string]string{}, fmt.Errorf("not an object")
}

// FocusFiles reads every file matching its globs, each refresh. The files
// are the source's whole history: a row removed from them disappears from
// the store too.
type FocusFiles struct {
	Paths   []string
	Options FocusOptions
	last    string // fingerprint of the files last read
}

// FocusFilesConfig is the `focus:` block of a source.
type FocusFilesConfig struct {
	Paths        []string `yaml:"paths"`
	FocusOptions `yaml:",inline"`
}

// Validate checks the block.
func (c *FocusFilesConfig) Validate(path string) []error {
	var errs []error
	if len(c.Paths) == 0 {
		errs = append(errs, fmt.Errorf("%s.paths: at least one path or glob is required", path))
	}
	for i, p := range c.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s.paths[%d]: %v", path, i, err))
		}
	}
	if c.CostColumn != "" && !contains(CostColumns, c.CostColumn) {
		errs = append(errs, fmt.Errorf("%s.cost_column: %q is not one of %s", path, c.CostColumn, strings.Join(CostColumns, ", ")))
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// NewFocusFiles builds the source.
func NewFocusFiles(c FocusFilesConfig, service string) *FocusFiles {
	o := c.FocusOptions
	if o.Service == "" {
		o.Service = service
	}
	return &FocusFiles{Paths: c.Paths, Options: o}
}

// Fetch reads every file. A file that cannot be read at all (no amount
// column, I/O error) fails the fetch: replacing the source's history
// without it would delete its rows.
func (f *FocusFiles) Fetch(ctx context.Context, _ Window) (Batch, error) {
	var files []string
	for _, p := range f.Paths {
		m, err := filepath.Glob(p)
		if err != nil {
			return Batch{}, fmt.Errorf("glob %s: %w", p, err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	files = dedup(files)
	if len(files) == 0 {
		return Batch{}, fmt.Errorf("no file matches %s", strings.Join(f.Paths, ", "))
	}
	h := sha256.New()
	contents := make([][]byte, len(files))
	for i, name := range files {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return Batch{}, err
		}
		contents[i] = b
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if sum == f.last {
		return Batch{All: true, Unchanged: true}, nil
	}
	out := Batch{All: true}
	for i, name := range files {
		lines, errs, err := ReadFOCUSCSV(bytes.NewReader(contents[i]), filepath.Base(name), f.Options)
		if err != nil {
			return Batch{}, err
		}
		out.Lines = append(out.Lines, lines...)
		out.Errors = append(out.Errors, errs...)
	}
	f.last = sum
	return out, nil
}

// Forget makes the next fetch read the files again even if unchanged (the
// write of the last one failed).
func (f *FocusFiles) Forget() { f.last = "" }

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
