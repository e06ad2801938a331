package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// side is one in-process registry behind the counting proxy every measured command talks to.
type side struct {
	reg   *dist2.Registry
	proxy *regtest.Proxy
}

func startSide() (*side, error) {
	reg, err := dist2.Start()
	if err != nil {
		return nil, err
	}
	p, err := regtest.NewProxy(reg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w (and the registry: %v)", err, reg.Close())
	}
	return &side{reg: reg, proxy: p}, nil
}

// startPair starts a primary and a secondary side; close stops both.
func startPair() (p, s *side, stop func(), err error) {
	if p, err = startSide(); err != nil {
		return nil, nil, nil, err
	}
	if s, err = startSide(); err != nil {
		return nil, nil, nil, errors.Join(err, p.close())
	}
	return p, s, func() { _, _ = p.close(), s.close() }, nil
}

func (s *side) close() error {
	if s == nil {
		return nil
	}
	err := s.proxy.Close()
	if e := s.reg.Close(); err == nil {
		err = e
	}
	return err
}

// sample is one measured run of a command.
type sample struct {
	wall time.Duration
	// rssKiB is the peak resident size of the process, from the kernel's rusage.
	rssKiB int64
	// primary and secondary are the requests each registry saw.
	primary, secondary map[regtest.Hit]int
	// uploaded is the blob bytes sent to the secondary; blobs those of each finished upload.
	uploaded int64
	blobs    map[string]int64
	// mounts is the cross-repository mounts asked of the secondary.
	mounts int
	// conns is the connections opened to both registries.
	conns int
	// cpu is the user and system CPU time of the process.
	cpu    time.Duration
	exit   int
	stdout []byte
	stderr []byte
}

// total counts every request of hits.
func total(hits map[regtest.Hit]int) int {
	n := 0
	for _, c := range hits {
		n += c
	}
	return n
}

// content counts the requests that fetch or push a manifest or a blob: everything but tag
// lists, the catalog, manifest HEADs and the API root.
func content(hits map[regtest.Hit]int) int {
	n := 0
	for h, c := range hits {
		switch {
		case h.Kind == regtest.PathManifest && h.Method != http.MethodHead,
			h.Kind == regtest.PathBlob:
			n += c
		}
	}
	return n
}

// timeBin is GNU time, which reports the peak resident size of the command it runs. The bench
// cannot take it from its own wait: Go starts a child with vfork, so the child's rusage counts
// the bench's own resident size (two registries and their content) as the child's peak.
const timeBin = "/usr/bin/time"

// measure runs name with args against the two sides with fresh counts.
func measure(ctx context.Context, p, s *side, name string, args ...string) (sample, error) {
	p.proxy.ResetCounts()
	s.proxy.ResetCounts()
	rss, err := os.CreateTemp("", "regdrift-bench-rss-")
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = os.Remove(rss.Name()) }()
	if err := rss.Close(); err != nil {
		return sample{}, err
	}
	cmd := exec.CommandContext(ctx, timeBin,
		append([]string{"-f", "%M %U %S", "-o", rss.Name(), name}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	smp := sample{wall: wall, primary: p.proxy.Counts(), secondary: s.proxy.Counts(),
		uploaded: s.proxy.Uploaded(), blobs: s.proxy.UploadedBlobs(), mounts: s.proxy.Mounts(),
		conns:  p.proxy.Connections() + s.proxy.Connections(),
		stdout: out.Bytes(), stderr: errOut.Bytes()}
	if cmd.ProcessState == nil {
		return smp, fmt.Errorf("run %s: %w", name, err)
	}
	smp.exit = cmd.ProcessState.ExitCode()
	if smp.rssKiB, smp.cpu, err = readUsage(rss.Name()); err != nil {
		return smp, fmt.Errorf("run %s: peak memory: %w", name, err)
	}
	return smp, nil
}

// readUsage reads what GNU time wrote, "KiB user system" on the last line, after any note of
// a signal or exit status it writes before it.
func readUsage(path string) (int64, time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("%s wrote %q", timeBin, b)
	}
	kib, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%s wrote %q: %w", timeBin, b, err)
	}
	var cpu time.Duration
	for _, v := range f[1:] {
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s wrote %q: %w", timeBin, b, err)
		}
		cpu += time.Duration(sec * float64(time.Second))
	}
	return kib, cpu, nil
}

// median is the sample of median wall time; the counts of one run of a command do not vary
// much, and the median sample keeps a row's figures from one run.
func median(samples []sample) sample {
	s := slices.Clone(samples)
	slices.SortFunc(s, func(a, b sample) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}
