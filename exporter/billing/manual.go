package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/config"
)

// ManualConfig is the `manual:` block of a source: costs no API reports
// (a domain, a support contract), written in the config or in a file of
// their own that is re-read on every refresh.
type ManualConfig struct {
	File    string        `yaml:"file,omitempty"`
	Entries []ManualEntry `yaml:"entries,omitempty"`
}

// ManualEntry is one manual cost line.
type ManualEntry struct {
	Date           string           `yaml:"date"` // 2026-11-01
	Service        string           `yaml:"service"`
	Resource       string           `yaml:"resource,omitempty"`
	ResourceID     string           `yaml:"resource_id,omitempty"`
	ChargeCategory string           `yaml:"charge_category,omitempty"` // default Purchase
	Amount         *decimal.Decimal `yaml:"amount"`
	Currency       string           `yaml:"currency,omitempty"` // default USD
	Team           string           `yaml:"team,omitempty"`
	Feature        string           `yaml:"feature,omitempty"`
	Description    string           `yaml:"description,omitempty"`
}

// Validate checks the block (the file's entries are checked as they are
// read, row by row).
func (c *ManualConfig) Validate(path string) []error {
	if c.File == "" && len(c.Entries) == 0 {
		return []error{fmt.Errorf("%s: set file or entries", path)}
	}
	var errs []error
	for i, e := range c.Entries {
		if _, err := e.line(); err != nil {
			errs = append(errs, fmt.Errorf("%s.entries[%d]: %v", path, i, err))
		}
	}
	return errs
}

func (e ManualEntry) line() (Line, error) {
	var problems []string
	date, err := time.Parse(time.DateOnly, e.Date)
	if err != nil {
		problems = append(problems, fmt.Sprintf("date: %q is not YYYY-MM-DD", e.Date))
	}
	if e.Service == "" {
		problems = append(problems, "service: required")
	}
	cat := e.ChargeCategory
	if cat == "" {
		cat = "Purchase"
	}
	if c := canonicalCategory(cat); c == "" {
		problems = append(problems, fmt.Sprintf("charge_category: %q is not one of %s", cat, strings.Join(ChargeCategories, ", ")))
	} else {
		cat = c
	}
	if e.Amount == nil {
		problems = append(problems, "amount: required")
	} else if err := CheckAmount(*e.Amount); err != nil {
		problems = append(problems, "amount: "+err.Error())
	}
	if len(problems) > 0 {
		return Line{}, errors.New(strings.Join(problems, "; "))
	}
	cur := strings.ToUpper(e.Currency)
	if cur == "" {
		cur = "USD"
	}
	tags := map[string]string{}
	if e.Description != "" {
		tags["description"] = e.Description
	}
	return Line{Date: date, Service: e.Service, Resource: e.Resource, ResourceID: e.ResourceID, ChargeCategory: cat,
		Amount: *e.Amount, Currency: cur, Team: e.Team, Feature: e.Feature, Tags: tags}, nil
}

// Manual is the source of manual entries.
type Manual struct{ cfg ManualConfig }

// NewManual builds the source.
func NewManual(c ManualConfig) *Manual { return &Manual{cfg: c} }

// Fetch returns every entry: they are the source's whole history.
func (m *Manual) Fetch(ctx context.Context, _ Window) (Batch, error) {
	out := Batch{All: true}
	add := func(where string, entries []ManualEntry) {
		for i, e := range entries {
			w := fmt.Sprintf("%s[%d]", where, i)
			l, err := e.line()
			if err != nil {
				out.Errors = append(out.Errors, RowError{Where: w, Err: err})
				continue
			}
			l.Origin = w
			out.Lines = append(out.Lines, l)
		}
	}
	add("entries", m.cfg.Entries)
	if m.cfg.File != "" {
		var f struct {
			Entries []ManualEntry `yaml:"entries"`
		}
		// A file that does not parse fails the source: replacing the
		// history without it would delete its rows.
		if err := config.LoadFile(m.cfg.File, &f); err != nil {
			return Batch{}, err
		}
		add(m.cfg.File+": entries", f.Entries)
	}
	return out, nil
}
