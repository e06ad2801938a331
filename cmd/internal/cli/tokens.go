package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/regdrift/regdrift/server"
)

// TokenConfig is one API token of serve: who holds it, its role, and either the token itself
// or only its SHA-256 (hex), which keeps the secret out of the file altogether.
type TokenConfig struct {
	Name   string `yaml:"name"`
	Role   string `yaml:"role"`
	Token  Secret `yaml:"token"`
	SHA256 string `yaml:"sha256"`
}

// minTokenLen refuses tokens short enough to guess; `regdrift token` makes 64 hex digits.
const minTokenLen = 24

// hashPrefix marks the secret part of an environment token as a hash.
const hashPrefix = "sha256:"

// tokensFromEnv replaces the tokens with those of REGDRIFT_TOKENS or the file
// REGDRIFT_TOKENS_FILE names: NAME:ROLE:TOKEN (or NAME:ROLE:sha256:HEX) items, separated by
// commas or lines; in the file, lines starting with # are comments.
func (c *Config) tokensFromEnv(getenv func(string) string) error {
	raw, src := getenv("REGDRIFT_TOKENS"), "REGDRIFT_TOKENS"
	if raw == "" && getenv("REGDRIFT_TOKENS_FILE") != "" {
		s, err := readSecretFile(getenv("REGDRIFT_TOKENS_FILE"))
		if err != nil {
			return fmt.Errorf("REGDRIFT_TOKENS_FILE: %w", err)
		}
		raw, src = string(s), "REGDRIFT_TOKENS_FILE"
	}
	if raw == "" {
		return nil
	}
	var tokens []TokenConfig
	for i, item := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == '\n' }) {
		item = strings.TrimSpace(item)
		if item == "" || strings.HasPrefix(item, "#") {
			continue
		}
		name, rest, ok1 := strings.Cut(item, ":")
		role, secret, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			// The item is not repeated: it may hold a secret.
			return fmt.Errorf("%s: item %d is not NAME:ROLE:TOKEN", src, i+1)
		}
		t := TokenConfig{Name: name, Role: role, Token: Secret(secret)}
		if h, ok := strings.CutPrefix(secret, hashPrefix); ok {
			t.Token, t.SHA256 = "", h
		}
		tokens = append(tokens, t)
	}
	c.Tokens = tokens
	return nil
}

// serverTokens checks the tokens and turns them into the server's: names unique, roles known,
// exactly one of token and sha256, no token short enough to guess, no secret given twice.
func (c *Config) serverTokens() ([]server.Token, error) {
	var errs []error
	out := make([]server.Token, 0, len(c.Tokens))
	names := map[string]bool{}
	hashes := map[[32]byte]string{}
	for _, t := range c.Tokens {
		what := fmt.Sprintf("token %q", t.Name)
		role, err := server.ParseRole(t.Role)
		switch {
		case t.Name == "":
			errs = append(errs, errors.New("a token needs a name"))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("%s: the name is used twice", what))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		case (t.Token == "") == (t.SHA256 == ""):
			errs = append(errs, fmt.Errorf("%s: give either token or sha256", what))
		case t.Token != "" && len(t.Token) < minTokenLen:
			errs = append(errs, fmt.Errorf("%s: shorter than %d characters; make one with "+
				"`regdrift token`", what, minTokenLen))
		}
		names[t.Name] = true
		st := server.Token{Name: t.Name, Role: role, Hash: server.HashToken(string(t.Token))}
		if t.SHA256 != "" {
			if st.Hash, err = server.ParseTokenHash(t.SHA256); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
			}
		}
		if other, dup := hashes[st.Hash]; dup && other != t.Name {
			errs = append(errs, fmt.Errorf("%s: same secret as token %q", what, other))
		}
		hashes[st.Hash] = t.Name
		out = append(out, st)
	}
	return out, errors.Join(errs...)
}

// newToken prints a fresh random token and the hash to configure instead of it.
func newToken(w io.Writer) error {
	var b [32]byte
	_, _ = rand.Read(b[:]) // NOTE: crypto/rand.Read never returns an error (Go 1.24+)
	tok := hex.EncodeToString(b[:])
	h := server.HashToken(tok)
	_, err := fmt.Fprintf(w, "token:  %s\nsha256: %s\n", tok, hex.EncodeToString(h[:]))
	return err
}
