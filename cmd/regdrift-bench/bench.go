package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
)

// benchConfig is what a bench run needs.
type benchConfig struct {
	spec       regtest.FixtureSpec
	runs       int
	regdrift   string
	regsync    string
	out        string
	truth      string
	scaleRepos int
	scaleTags  int
	machine    string
}

func (c *benchConfig) flags(fs *flag.FlagSet) {
	fixtureFlags(fs, &c.spec, 100, 30)
	fs.IntVar(&c.runs, "runs", 3, "runs of each command; the table shows the median")
	fs.StringVar(&c.regdrift, "regdrift", "bin/regdrift", "the regdrift binary")
	fs.StringVar(&c.regsync, "regsync", "bin/tools/regsync", "the regsync binary")
	fs.StringVar(&c.out, "out", "artifacts/bench/results.md", "where to write the table")
	fs.StringVar(&c.truth, "truth", "artifacts/bench/truth.json", "where to write the truth")
	fs.IntVar(&c.scaleRepos, "scale-repos", 500, "repositories of the scale check (0: none)")
	fs.IntVar(&c.scaleTags, "scale-tags", 100, "tags per repository of the scale check")
	fs.StringVar(&c.machine, "machine", "", "a description of the machine for the table")
}

// row is one line of the table.
type row struct {
	name    string
	s       sample
	runs    int
	floor   int
	correct string
}

// session is one side-by-side run.
type session struct {
	cfg     benchConfig
	dir     string
	f       *regtest.Fixture
	p, s    *side
	rows    []row
	started time.Time
}

// bench fills the registries, runs every command and writes the table.
func bench(ctx context.Context, cfg benchConfig) (err error) {
	for _, bin := range []string{cfg.regdrift, cfg.regsync, timeBin} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("binary: %w (make bench builds and installs them)", err)
		}
	}
	dir, err := os.MkdirTemp("", "regdrift-bench-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	b := &session{cfg: cfg, dir: dir, started: time.Now()}
	defer func() { err = errors.Join(err, b.p.close(), b.s.close()) }()

	b.f, err = regtest.NewFixture(cfg.spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.truth), 0o755); err != nil {
		return err
	}
	if err := writeTruth(cfg.truth, b.f); err != nil {
		return err
	}
	if b.p, err = startSide(); err != nil {
		return err
	}
	if err := b.freshSecondary(ctx, true); err != nil {
		return err
	}
	if err := b.reads(ctx); err != nil {
		return err
	}
	if err := b.writes(ctx); err != nil {
		return err
	}
	if cfg.scaleRepos > 0 {
		if err := b.scale(ctx); err != nil {
			return err
		}
	}
	return b.report()
}

// freshSecondary replaces the secondary with a new registry holding the fixture's secondary
// side, and fills the primary too when asked.
func (b *session) freshSecondary(ctx context.Context, primaryToo bool) error {
	if err := b.s.close(); err != nil {
		return err
	}
	var err error
	if b.s, err = startSide(); err != nil {
		return err
	}
	start := time.Now()
	if primaryToo {
		err = b.f.Fill(ctx, b.p.reg.Host, b.s.reg.Host)
	} else {
		err = b.f.FillSide(ctx, b.s.reg.Host, false)
	}
	if err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	logf("filled %s in %s", map[bool]string{true: "both registries",
		false: "a fresh secondary"}[primaryToo], time.Since(start).Round(time.Millisecond))
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// regdriftArgs are the arguments of a regdrift command against the two proxies.
func (b *session) regdriftArgs(p, s *side, cmd string, extra ...string) []string {
	db := filepath.Join(b.dir, fmt.Sprintf("run-%d.db", time.Now().UnixNano()))
	args := []string{cmd, "--primary", p.proxy.URL, "--secondary", s.proxy.URL,
		"--db", db, "--format", "json", "--log-level", "error"}
	return append(args, extra...)
}

// reads runs the commands that change nothing, interleaved so that a busy moment on the shared
// machine falls on all of them alike.
func (b *session) reads(ctx context.Context) error {
	cfgFile, err := b.regsyncConfig()
	if err != nil {
		return err
	}
	reposFile := filepath.Join(b.dir, "repos.txt")
	if err := os.WriteFile(reposFile, []byte(strings.Join(b.f.Truth.Repos(), "\n")),
		0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fixed := func(args ...string) func() []string { return func() []string { return args } }
	type cmd struct {
		name, bin string
		// args are made for each run: each regdrift run gets a database of its own.
		args func() []string
	}
	cmds := []cmd{
		{"regdrift check", b.cfg.regdrift,
			func() []string { return b.regdriftArgs(b.p, b.s, "check") }},
		{"regdrift check --deep", b.cfg.regdrift,
			func() []string { return b.regdriftArgs(b.p, b.s, "check", "--deep") }},
		{"reference client (floor, 8 at a time)", self, fixed("floor", "--primary",
			b.p.proxy.URL, "--secondary", b.s.proxy.URL, "--repos", reposFile)},
		{"regsync check", b.cfg.regsync, fixed("check", "-c", cfgFile, "--logopt", "json")},
	}
	samples := make([][]sample, len(cmds))
	for i := range b.cfg.runs {
		for j, c := range cmds {
			smp, err := measure(ctx, b.p, b.s, c.bin, c.args()...)
			if err != nil {
				return err
			}
			logf("run %d: %s: %s, exit %d", i+1, c.name, smp.wall.Round(time.Millisecond),
				smp.exit)
			// regdrift exits 2 for errors it records, such as deletions the guard holds
			// back; its report says which, and the table judges its answer.
			if c.bin != b.cfg.regdrift && smp.exit != 0 {
				return fmt.Errorf("%s: exit %d: %s", c.name, smp.exit, tail(smp.stderr))
			}
			samples[j] = append(samples[j], smp)
		}
	}
	fl := floor(b.f.Truth)
	for j, c := range cmds {
		m := median(samples[j])
		r := row{name: c.name, s: m, runs: len(samples[j]), floor: fl}
		switch j {
		case 0:
			r.correct = judgeRegdrift(m.stdout, b.f.Truth).String()
		case 1:
			r.correct = judgeRegdrift(m.stdout, b.f.Deep).String()
		case 2:
			r.correct = judgeFloor(m.stdout, b.f.Truth)
		case 3:
			r.correct = judgeRegsync(m.stderr, b.p.proxy.Host, b.f.Truth, b.f.Deep).String()
		}
		b.rows = append(b.rows, r)
	}
	return nil
}

func judgeFloor(stdout []byte, truth regtest.Truth) string {
	var got struct {
		Counts regdrift.Counts `json:"counts"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		return "unreadable: " + err.Error()
	}
	want := floorCounts(truth)
	if got.Counts != want {
		return fmt.Sprintf("counts %+v, want %+v", got.Counts, want)
	}
	return fmt.Sprintf("counts match (%d tags)", want.Total())
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// regsyncConfig writes a regsync configuration that mirrors the whole primary, through the
// proxies, with regsync's defaults otherwise.
func (b *session) regsyncConfig() (string, error) {
	return b.writeRegsyncConfig(b.s)
}

func (b *session) writeRegsyncConfig(s *side) (string, error) {
	cfg := fmt.Sprintf(`version: 1
creds:
  - registry: %[1]s
    tls: disabled
  - registry: %[2]s
    tls: disabled
sync:
  - source: %[1]s
    target: %[2]s
    type: registry
`, b.p.proxy.Host, s.proxy.Host)
	path := filepath.Join(b.dir, fmt.Sprintf("regsync-%s.yml",
		strings.ReplaceAll(s.proxy.Host, ":", "-")))
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// writes runs the commands that change the secondary, each on a freshly filled one.
func (b *session) writes(ctx context.Context) error {
	var exec, noop, once []sample
	var execOK, noopOK, onceOK []string
	for i := range b.cfg.runs {
		if err := b.freshSecondary(ctx, false); err != nil {
			return err
		}
		smp, err := measure(ctx, b.p, b.s, b.cfg.regdrift,
			b.regdriftArgs(b.p, b.s, "reconcile", "--execute")...)
		if err != nil {
			return err
		}
		logf("run %d: regdrift reconcile --execute: %s, exit %d", i+1,
			smp.wall.Round(time.Millisecond), smp.exit)

		exec = append(exec, smp)
		execOK = append(execOK, b.after(ctx, b.f.Synced))

		smp, err = measure(ctx, b.p, b.s, b.cfg.regdrift,
			b.regdriftArgs(b.p, b.s, "reconcile", "--execute")...)
		if err != nil {
			return err
		}
		noop = append(noop, smp)
		noopOK = append(noopOK, fmt.Sprintf("%d manifest or blob requests",
			content(smp.primary)+content(smp.secondary)))

		if err := b.freshSecondary(ctx, false); err != nil {
			return err
		}
		cfgFile, err := b.writeRegsyncConfig(b.s)
		if err != nil {
			return err
		}
		smp, err = measure(ctx, b.p, b.s, b.cfg.regsync, "once", "-c", cfgFile, "--logopt",
			"json")
		if err != nil {
			return err
		}
		logf("run %d: regsync once: %s, exit %d", i+1, smp.wall.Round(time.Millisecond),
			smp.exit)
		once = append(once, smp)
		onceOK = append(onceOK, b.after(ctx, b.f.Copied))
	}
	fl := floor(b.f.Truth)
	b.rows = append(b.rows,
		row{name: "regdrift reconcile --execute", s: median(exec), runs: len(exec), floor: fl,
			correct: "after: " + execOK[0]},
		row{name: "regdrift reconcile --execute (no-op, after it)", s: median(noop),
			runs: len(noop), floor: floor(b.f.Synced), correct: noopOK[0]},
		row{name: "regsync once", s: median(once), runs: len(once), floor: fl,
			correct: "after: " + onceOK[0]},
	)
	return nil
}

// after checks the secondary with regdrift, unmeasured, and compares it with want.
func (b *session) after(ctx context.Context, want regtest.Truth) string {
	smp, err := measure(ctx, b.p, b.s, b.cfg.regdrift, b.regdriftArgs(b.p, b.s, "check")...)
	if err != nil {
		return "check failed: " + err.Error()
	}
	return judgeRegdrift(smp.stdout, want).String()
}

// scale checks a larger fixture once with regdrift alone.
func (b *session) scale(ctx context.Context) error {
	spec := b.cfg.spec
	spec.Repos, spec.Tags, spec.Light = b.cfg.scaleRepos, b.cfg.scaleTags, true
	f, err := regtest.NewFixture(spec)
	if err != nil {
		return err
	}
	p, s, stop, err := startPair()
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	if err := f.Fill(ctx, p.reg.Host, s.reg.Host); err != nil {
		return fmt.Errorf("scale fill: %w", err)
	}
	logf("filled the scale fixture (%d tags) in %s", f.Tags(),
		time.Since(start).Round(time.Millisecond))
	smp, err := measure(ctx, p, s, b.cfg.regdrift, b.regdriftArgs(p, s, "check")...)
	if err != nil {
		return err
	}
	logf("scale: regdrift check: %s", smp.wall.Round(time.Millisecond))
	b.rows = append(b.rows, row{
		name: fmt.Sprintf("regdrift check, %d x %d", spec.Repos, spec.Tags), s: smp, runs: 1,
		floor: floor(f.Truth), correct: judgeRegdrift(smp.stdout, f.Truth).String(),
	})
	return nil
}
