package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// soak runs the whole scenario and gathers its report. An error means the soak itself could
// not run (a registry, the build, the server); what the server did wrong is in the report.
func soak(ctx context.Context, o options) (*report, error) {
	dir, err := os.MkdirTemp("", "regdrift-soak-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer cleanup("remove "+dir, func() error { return os.RemoveAll(dir) })
	}
	primary, err := dist2.Start()
	if err != nil {
		return nil, err
	}
	defer cleanup("stop the primary", primary.Close)
	secondary, err := dist2.Start()
	if err != nil {
		return nil, err
	}
	defer cleanup("stop the secondary", secondary.Close)

	rep := &report{Repos: o.repos, Tags: o.tags, Clients: o.clients, Dir: dir}
	start := time.Now()
	repos, err := fill(ctx, primary.Host, secondary.Host, o.repos, o.tags)
	if err != nil {
		return nil, fmt.Errorf("fill the registries: %w", err)
	}
	rep.FillSeconds = time.Since(start).Seconds()
	logf("filled %d repositories of %d tags in %.1fs", o.repos, o.tags, rep.FillSeconds)

	bin := o.bin
	if bin == "" {
		if bin, err = build(ctx, dir); err != nil {
			return nil, err
		}
	}
	srv, err := startServer(ctx, bin, dir, primary.Host, secondary.Host)
	if err != nil {
		return nil, err
	}
	rep.ServerLog = srv.log
	err = load(ctx, o, srv, repos, rep)
	return rep, errors.Join(err, srv.stop())
}

// load runs the scan, the readers and the burst against srv and fills rep.
func load(ctx context.Context, o options, srv *server, repos []string, rep *report) error {
	rss := newRSSSampler(srv.cmd.Process.Pid)
	rssCtx, stopRSS := context.WithCancel(ctx)
	var rssDone sync.WaitGroup
	rssDone.Go(func() { rss.run(rssCtx, 500*time.Millisecond) })
	defer func() {
		stopRSS()
		rssDone.Wait()
		rep.setRSS(rss.samples())
	}()

	rec := newRecorder()
	c := newClient(srv.base, o.clients+20, rec)
	scanID, err := c.startScan(ctx)
	if err != nil {
		return err
	}
	rep.ScanID = scanID
	logf("scan started as run %d; %d clients read for %v", scanID, o.clients, o.duration)

	readCtx, stopReads := context.WithTimeout(ctx, o.duration)
	defer stopReads()
	var wg sync.WaitGroup
	wg.Go(func() { c.readers(readCtx, o.clients, repos, scanID) })
	var burst burstResult
	if o.webhook == "off" {
		burst.Skipped = "--webhook off"
	} else {
		wg.Go(func() {
			select {
			case <-readCtx.Done():
				return
			case <-time.After(o.burstAfter):
			}
			burst = c.burst(ctx, o.events, o.eventsPerPost, repos[:o.eventRepos], o.webhook)
			logf("burst: %d events in %d posts%s", burst.Events, burst.Posts,
				skipped(burst.Skipped))
		})
	}
	wg.Wait()
	logf("reads done; waiting up to %v for the runs to finish", o.drain)
	runs, err := c.waitRuns(ctx, o.drain)
	rep.setLoad(rec, burst, runs, scanID, repos[:o.eventRepos])
	return err
}

// cleanup runs fn and reports its failure: the soak's figures stand, but the machine may hold
// a leftover.
func cleanup(what string, fn func() error) {
	if err := fn(); err != nil {
		logf("%s: %v", what, err)
	}
}

func skipped(why string) string {
	if why == "" {
		return ""
	}
	return " (skipped: " + why + ")"
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s regdrift-soak: %s\n", time.Now().UTC().Format("15:04:05"),
		fmt.Sprintf(format, args...))
}

// startScan asks for a dry run of every repository and returns its id.
func (c *client) startScan(ctx context.Context) (int64, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	b, _, ok := c.do(ctx, kindAPI, http.MethodPost, "/api/v1/runs", h,
		[]byte(`{"mode":"dry_run"}`), http.StatusAccepted)
	if !ok {
		return 0, fmt.Errorf("start the scan: %s", strings.Join(c.rec.sample, "; "))
	}
	var run runInfo
	if err := json.Unmarshal(b, &run); err != nil || run.ID == 0 {
		return 0, fmt.Errorf("start the scan: answer %.200s", b)
	}
	return run.ID, nil
}

// runInfo is the part of a run the soak reads.
type runInfo struct {
	ID         int64      `json:"id"`
	Trigger    string     `json:"trigger"`
	Scope      []string   `json:"scope"`
	Status     string     `json:"status"`
	Outcome    string     `json:"outcome"`
	Error      string     `json:"error"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	ReposDone  int        `json:"repositories_done"`
	ReposTotal int        `json:"repositories_total"`
}

func (r runInfo) finished() bool {
	return r.Status != "queued" && r.Status != "running" && r.Status != "interrupted"
}

// waitRuns waits until every run has finished, or within has passed, and returns the runs.
func (c *client) waitRuns(ctx context.Context, within time.Duration) ([]runInfo, error) {
	deadline := time.Now().Add(within)
	for {
		runs, err := c.listRuns(ctx)
		if err != nil {
			return nil, err
		}
		open := 0
		for _, r := range runs {
			if !r.finished() {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			return runs, nil
		}
		select {
		case <-ctx.Done():
			return runs, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// listRuns reads every run, newest first, page by page.
func (c *client) listRuns(ctx context.Context) ([]runInfo, error) {
	var all []runInfo
	for offset := 0; ; {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			c.base+"/api/v1/runs?limit=500&offset="+strconv.Itoa(offset), nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		var page struct {
			Runs  []runInfo `json:"runs"`
			Total int       `json:"total"`
		}
		err = errors.Join(json.NewDecoder(resp.Body).Decode(&page), resp.Body.Close())
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		all = append(all, page.Runs...)
		offset += len(page.Runs)
		if len(page.Runs) == 0 || offset >= page.Total {
			return all, nil
		}
	}
}
