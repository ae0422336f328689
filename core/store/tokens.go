package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Roles of API tokens, least to most powerful.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// RoleAllows reports whether role may do what needs requires.
func RoleAllows(role, needs string) bool {
	rank := map[string]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}
	return rank[role] > 0 && rank[role] >= rank[needs]
}

// Token is an API token without its secret.
type Token struct {
	ID         string
	Name       string
	Role       string
	CreatedBy  string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// TokenPrefix starts every token, so that a leaked one is recognisable in
// logs and secret scanners.
const TokenPrefix = "wsk_"

// HashToken is how tokens are stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token with a role and returns its secret, which is
// not stored and cannot be shown again.
func (s *Store) CreateToken(ctx context.Context, name, role, createdBy string) (Token, string, error) {
	secret := TokenPrefix + rand.Text()
	var t Token
	err := s.audited(ctx, func(db DBTX) (string, error) {
		err := db.QueryRow(ctx, `INSERT INTO api_tokens (name, role, token_hash, created_by) VALUES ($1, $2, $3, $4)
			RETURNING id::text, name, role, created_by, created_at, revoked_at, last_used_at`,
			name, role, HashToken(secret), createdBy).Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &t.RevokedAt, &t.LastUsedAt)
		return name, err
	})
	if uniqueViolation(err, "api_tokens_name_key") {
		return Token{}, "", &ConflictError{What: "token " + name, State: "already exists"}
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("create token %s: %w", name, translate(err))
	}
	return t, secret, nil
}

// RevokeToken revokes a token by name.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	var revokedNow bool
	err := s.audited(ctx, func(db DBTX) (string, error) {
		tag, err := db.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
		if err != nil {
			return "", translate(err)
		}
		if revokedNow = tag.RowsAffected() == 1; !revokedNow {
			return "", errNothingChanged // no row changed: no audit row here
		}
		return name, nil
	})
	if err != nil && err != errNothingChanged {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	if !revokedNow {
		var revoked bool
		if err := s.pool.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM api_tokens WHERE name = $1`, name).Scan(&revoked); err != nil {
			return fmt.Errorf("token %s: %w", name, translate(err))
		}
		return &ConflictError{What: "token " + name, State: "revoked"}
	}
	return nil
}

// ListTokens lists every token, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, name, role, created_by, created_at, revoked_at, last_used_at
		FROM api_tokens ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &t.RevokedAt, &t.LastUsedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %w", translate(err))
		}
		out = append(out, t)
	}
	return out, translate(rows.Err())
}

// Authenticate finds the live token whose secret is given. ErrNotFound if
// none (unknown or revoked).
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	var t Token
	err := s.pool.QueryRow(ctx, `SELECT id::text, name, role, created_by, created_at, revoked_at, last_used_at
		FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, HashToken(secret)).
		Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &t.RevokedAt, &t.LastUsedAt)
	if err != nil {
		return Token{}, translate(err)
	}
	// last_used_at is written only when a minute stale: a dashboard calling
	// every few seconds must not turn each read into a write.
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1::uuid`, t.ID); err != nil {
			return Token{}, translate(err)
		}
	}
	return t, nil
}
