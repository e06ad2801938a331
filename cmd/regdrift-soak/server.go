package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// webhookSecret is what the soak's registry events carry; the server gets it from its
// environment, as in production.
const webhookSecret = "soak-webhook-secret-0123456789abcdef"

// server is a `regdrift serve` process.
type server struct {
	base string
	cmd  *exec.Cmd
	log  string
	done chan error
}

// build compiles ./cmd/regdrift into dir.
func build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "regdrift")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/regdrift")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build regdrift (run from the module root): %w", err)
	}
	return bin, nil
}

// startServer runs bin serve against the two registries with its database and log in dir,
// and waits until it is ready.
func startServer(ctx context.Context, bin, dir, primary, secondary string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--primary", "http://"+primary,
		"--secondary", "http://"+secondary, "--db", filepath.Join(dir, "regdrift.db"),
		"--listen", addr, "--log-format", "json")
	cmd.Env = append(os.Environ(), "REGDRIFT_WEBHOOK_SECRET="+webhookSecret)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start %s: %w", bin, err), logFile.Close())
	}
	s := &server{base: "http://" + addr, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { s.done <- errors.Join(cmd.Wait(), logFile.Close()) }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func (s *server) waitReady(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			// NOTE: only the status counts; a body that does not close is the next try's.
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("regdrift serve exited before it was ready (%v); see %s", err,
				s.log)
		case <-ctx.Done():
			return fmt.Errorf("regdrift serve not ready within %v; see %s", within, s.log)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits for the server to exit, killing it after a minute.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop regdrift serve: %w", err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		return errors.Join(errors.New("regdrift serve did not stop within a minute"),
			s.cmd.Process.Kill())
	}
}

// rssSampler records the resident memory of a process at a fixed interval.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	at   []time.Duration
	kib  []int64
	zero time.Time
}

func newRSSSampler(pid int) *rssSampler {
	return &rssSampler{pid: pid, zero: time.Now()}
}

// run samples every interval until ctx ends.
func (r *rssSampler) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r.sample()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sample reads VmRSS from /proc; a process that is gone records nothing.
func (r *rssSampler) sample() {
	kib, err := readRSS(r.pid)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Since(r.zero))
	r.kib = append(r.kib, kib)
}

func readRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	// NOTE: closing a file only read; a read error surfaces from the scanner.
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// samples returns a copy of what was recorded.
func (r *rssSampler) samples() ([]time.Duration, []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.at...), append([]int64(nil), r.kib...)
}
