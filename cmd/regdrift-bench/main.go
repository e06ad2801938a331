// Command regdrift-bench measures regdrift against regsync on the same registries in one run.
//
// It starts two CNCF Distribution 2.8 registries in-process, each behind a counting proxy,
// fills them with a generated fixture whose truth it knows (regtest.Fixture), then runs as
// separate processes `regdrift check`, `regdrift check --deep`, a reference client that makes
// exactly the floor's requests, `regsync check`, `regdrift reconcile --execute` with a no-op
// execute after it, and `regsync once`, several times each. For each it reports the median
// wall time, the requests each registry saw, the blob bytes uploaded to the secondary, the
// peak resident memory and whether the answer matches the truth, and writes the table.
//
// `regdrift-bench fill` fills two registries given by URL with a fixture instead and writes
// its truth; `regdrift-bench floor` is the reference client, run as its own process.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/regdrift/regdrift/sync/regtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "regdrift-bench: %v\n", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "fill":
			return fill(ctx, args[1:])
		case "floor":
			return floorMain(ctx, args[1:])
		case "serve":
			return serveFixture(ctx, args[1:])
		}
	}
	var c benchConfig
	fs := flag.NewFlagSet("regdrift-bench", flag.ContinueOnError)
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench(ctx, c)
}

// fixtureFlags registers the flags that shape a fixture.
func fixtureFlags(fs *flag.FlagSet, spec *regtest.FixtureSpec, repos, tags int) {
	fs.IntVar(&spec.Repos, "repos", repos, "repositories")
	fs.IntVar(&spec.Tags, "tags", tags, "tags per repository")
	fs.Float64Var(&spec.Drift, "drift", 0.1, "share of tags that drift")
	fs.IntVar(&spec.OneSided, "one-sided", 0,
		"repositories on the primary only, and as many on the secondary only (0: repos/50)")
	fs.StringVar(&spec.Seed, "seed", "bench", "fixture seed")
}

// fill fills two registries given by URL and writes the truth as JSON.
func fill(ctx context.Context, args []string) error {
	var spec regtest.FixtureSpec
	fs := flag.NewFlagSet("regdrift-bench fill", flag.ContinueOnError)
	fixtureFlags(fs, &spec, 100, 30)
	primary := fs.String("primary", "", "primary as 127.0.0.1:PORT (plain HTTP)")
	secondary := fs.String("secondary", "", "secondary as 127.0.0.1:PORT (plain HTTP)")
	truthFile := fs.String("truth", "truth.json", "where to write the ground truth")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *primary == "" || *secondary == "" {
		return fmt.Errorf("fill: --primary and --secondary are required")
	}
	f, err := regtest.NewFixture(spec)
	if err != nil {
		return err
	}
	host := func(s string) string {
		return strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	}
	if err := f.Fill(ctx, host(*primary), host(*secondary)); err != nil {
		return err
	}
	return writeTruth(*truthFile, f)
}

// truthJSON is the ground truth as written to a file.
type truthJSON struct {
	Spec              regtest.FixtureSpec `json:"spec"`
	Check             regtest.Truth       `json:"check"`
	Deep              regtest.Truth       `json:"deep"`
	AfterMirror       regtest.Truth       `json:"after_copy_and_delete"`
	AfterCopyOnly     regtest.Truth       `json:"after_copy_only"`
	MissingInRepo     int64               `json:"bytes_missing_in_repository"`
	MissingInRegistry int64               `json:"bytes_missing_in_registry"`
}

func writeTruth(path string, f *regtest.Fixture) error {
	b, err := json.MarshalIndent(truthJSON{
		Spec: f.Spec, Check: f.Truth, Deep: f.Deep, AfterMirror: f.Synced,
		AfterCopyOnly: f.Copied, MissingInRepo: f.MissingInRepo,
		MissingInRegistry: f.MissingInRegistry,
	}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// serveFixture starts the two registries behind their proxies, fills them and waits for an
// interrupt: for looking at one command by hand (a profile, a trace, another flag).
func serveFixture(ctx context.Context, args []string) error {
	var spec regtest.FixtureSpec
	fs := flag.NewFlagSet("regdrift-bench serve", flag.ContinueOnError)
	fixtureFlags(fs, &spec, 100, 30)
	truthFile := fs.String("truth", "truth.json", "where to write the ground truth")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := regtest.NewFixture(spec)
	if err != nil {
		return err
	}
	p, s, stop, err := startPair()
	if err != nil {
		return err
	}
	defer stop()
	if err := f.Fill(ctx, p.reg.Host, s.reg.Host); err != nil {
		return err
	}
	if err := writeTruth(*truthFile, f); err != nil {
		return err
	}
	fmt.Printf("primary %s (registry %s)\nsecondary %s (registry %s)\n", p.proxy.URL,
		p.reg.URL, s.proxy.URL, s.reg.URL)
	<-ctx.Done()
	return nil
}

// floorMain runs the reference client on the repositories named in a file, one a line.
func floorMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("regdrift-bench floor", flag.ContinueOnError)
	primary := fs.String("primary", "", "primary base URL")
	secondary := fs.String("secondary", "", "secondary base URL")
	reposFile := fs.String("repos", "", "file of repository names, one a line")
	width := fs.Int("concurrency", 8, "requests in flight per registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*reposFile)
	if err != nil {
		return err
	}
	repos := strings.Fields(string(b))
	start := time.Now()
	counts, err := newFloorClient(*width).check(ctx, *primary, *secondary, repos)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"counts": counts, "seconds": time.Since(start).Seconds(),
	})
}
