package cli

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Secret is a password, token or shared key. It prints and logs as "[redacted]", so that a
// configuration dumped by mistake gives nothing away. In the YAML file it is either the value
// itself or {file: PATH}, the file's content without its final newline; in the environment,
// NAME holds the value and NAME_FILE the path of a file holding it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalText keeps JSON (slog's JSON handler included) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// UnmarshalYAML reads a value or {file: PATH}.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Secret(n.Value)
		return nil
	}
	var ref struct {
		File string `yaml:"file"`
	}
	if err := n.Decode(&ref); err != nil || ref.File == "" {
		return fmt.Errorf("line %d: a secret is a value or {file: PATH}", n.Line)
	}
	v, err := readSecretFile(ref.File)
	*s = v
	return err
}

func readSecretFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return Secret(strings.TrimRight(string(b), "\r\n")), nil
}

// loadFile reads the YAML file at path into c. Unknown keys are errors: a misspelt
// no_delete must not silently leave deletions on.
func (c *Config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file stands for all defaults; the decoder reports it as io.EOF.
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	c.ConfigFile = path
	return nil
}

// applyEnv sets every field with an env tag whose variable is set, and the registries'
// REGDRIFT_PRIMARY, _USERNAME, _PASSWORD (and SECONDARY), and the tokens.
func (c *Config) applyEnv(getenv func(string) string) error {
	errs := []error{applyEnvFields(reflect.ValueOf(c).Elem(), getenv)}
	for prefix, r := range map[string]*Registry{"REGDRIFT_PRIMARY": &c.Primary,
		"REGDRIFT_SECONDARY": &c.Secondary} {
		if v := getenv(prefix); v != "" {
			r.URL = v
		}
		if v := getenv(prefix + "_USERNAME"); v != "" {
			r.Username = v
		}
		errs = append(errs, envSecret(&r.Password, prefix+"_PASSWORD", getenv))
	}
	errs = append(errs, c.tokensFromEnv(getenv))
	return errors.Join(errs...)
}

var (
	secretType   = reflect.TypeFor[Secret]()
	durationType = reflect.TypeFor[time.Duration]()
)

// applyEnvFields sets the fields of the struct v that have an env tag. It knows the kinds the
// configuration uses; a field of another kind is a programming mistake, reported as one.
func applyEnvFields(v reflect.Value, getenv func(string) string) error {
	var errs []error
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("env")
		if name == "" {
			continue
		}
		f := v.Field(i)
		if f.Type() == secretType {
			errs = append(errs, envSecret(f.Addr().Interface().(*Secret), name, getenv))
			continue
		}
		raw := getenv(name)
		if raw == "" {
			continue
		}
		if err := setFromString(f, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, raw, err))
		}
	}
	return errors.Join(errs...)
}

func setFromString(f reflect.Value, raw string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(raw))
	}
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(raw)
		f.SetInt(int64(d))
		return err
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		f.SetBool(b)
		return err
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		f.SetInt(int64(n))
		return err
	case f.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		f.SetFloat(x)
		return err
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cli: no environment support for %s", f.Type())
	}
	return nil
}

// envSecret sets s from the variable name or, when that is empty, from the file that
// name_FILE names.
func envSecret(s *Secret, name string, getenv func(string) string) error {
	if v := getenv(name); v != "" {
		*s = Secret(v)
		return nil
	}
	path := getenv(name + "_FILE")
	if path == "" {
		return nil
	}
	v, err := readSecretFile(path)
	if err != nil {
		return fmt.Errorf("%s_FILE: %w", name, err)
	}
	*s = v
	return nil
}
