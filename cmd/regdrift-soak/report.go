package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// report is what a soak found.
type report struct {
	Repos, Tags, Clients int
	FillSeconds          float64
	Dir, ServerLog       string

	Latency map[kind]latency
	Errors  map[kind]int
	// ErrorSamples are the first few errors, for a look at what went wrong.
	ErrorSamples []string

	ScanID      int64
	ScanStatus  string
	ScanOutcome string
	ScanSeconds float64
	ScanRepos   string

	Webhook webhookFigures
	RSS     rssFigures
}

// latency summarises the successful requests of one kind.
type latency struct {
	Count        int
	P50ms, P99ms float64
	MaxMs        float64
}

type webhookFigures struct {
	Skipped string
	Posts   int
	Events  int
	// Runs counts the webhook runs the server recorded; PerRepo those of each repository
	// the events named; Answered the distinct run ids the answers named.
	Runs     int
	PerRepo  map[string]int
	Answered int
	Open     int
}

type rssFigures struct {
	StartMiB, PeakMiB, EndMiB float64
	// Timeline is the resident memory at about ten moments, in MiB, with the second.
	Timeline []string
}

func summarise(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return latency{Count: len(ds), P50ms: ms(at(0.50)), P99ms: ms(at(0.99)),
		MaxMs: ms(ds[len(ds)-1])}
}

func (r *report) setLoad(rec *recorder, b burstResult, runs []runInfo, scanID int64,
	eventRepos []string) {
	rec.mu.Lock()
	r.Latency = map[kind]latency{}
	for k, ds := range rec.lat {
		r.Latency[k] = summarise(ds)
	}
	r.Errors, r.ErrorSamples = rec.errs, rec.sample
	rec.mu.Unlock()

	if b.Skipped != "" {
		delete(r.Latency, kindWebhook) // the one answer was the 404
	}
	r.Webhook = webhookFigures{Skipped: b.Skipped, Posts: b.Posts, Events: b.Events,
		PerRepo: map[string]int{}}
	for _, ids := range b.RunIDs {
		r.Webhook.Answered += len(ids)
	}
	for _, run := range runs {
		if run.ID == scanID {
			r.ScanStatus, r.ScanOutcome = run.Status, run.Outcome
			r.ScanRepos = fmt.Sprintf("%d/%d", run.ReposDone, run.ReposTotal)
			if run.StartedAt != nil && run.FinishedAt != nil {
				r.ScanSeconds = run.FinishedAt.Sub(*run.StartedAt).Seconds()
			}
		}
		if run.Trigger != "webhook" {
			continue
		}
		r.Webhook.Runs++
		if !run.finished() {
			r.Webhook.Open++
		}
		for _, name := range run.Scope {
			r.Webhook.PerRepo[name]++
		}
	}
	for _, name := range eventRepos {
		r.Webhook.PerRepo[name] += 0
	}
}

func (r *report) setRSS(at []time.Duration, kib []int64) {
	if len(kib) == 0 {
		return
	}
	mib := func(k int64) float64 { return float64(k) / 1024 }
	r.RSS.StartMiB, r.RSS.EndMiB = mib(kib[0]), mib(kib[len(kib)-1])
	r.RSS.PeakMiB = mib(slices.Max(kib))
	step := max(1, len(kib)/10)
	for i := 0; i < len(kib); i += step {
		r.RSS.Timeline = append(r.RSS.Timeline,
			fmt.Sprintf("%.0fs %.0f", at[i].Seconds(), mib(kib[i])))
	}
}

// verdict lists what makes the soak fail.
func (r *report) verdict(o options) []string {
	var out []string
	for k, n := range r.Errors {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s requests failed", n, k))
		}
	}
	if r.ScanStatus != "done" {
		out = append(out, fmt.Sprintf("the scan ended %q, want done", r.ScanStatus))
	}
	w := r.Webhook
	switch {
	case w.Skipped != "" && o.webhook == "on":
		out = append(out, "the webhook burst was skipped: "+w.Skipped)
	case w.Skipped == "" && o.webhook != "off":
		for name, n := range w.PerRepo {
			if n > o.maxRunsPerRepo {
				out = append(out, fmt.Sprintf("%s: events became %d runs, bound %d", name, n,
					o.maxRunsPerRepo))
			}
		}
		if w.Open > 0 {
			out = append(out, fmt.Sprintf("%d webhook runs still open after the drain", w.Open))
		}
	}
	return out
}

func (r *report) print(out io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("regdrift soak: %d repositories x %d tags, %d clients (filled in %.1fs)", r.Repos, r.Tags,
		r.Clients, r.FillSeconds)
	p("scan run %d: %s/%s, %s repositories, %.1fs", r.ScanID, r.ScanStatus, r.ScanOutcome,
		r.ScanRepos, r.ScanSeconds)
	for _, k := range []kind{kindPage, kindAPI, kindWebhook} {
		l, ok := r.Latency[k]
		if !ok && r.Errors[k] == 0 {
			continue
		}
		p("%-8s %6d ok  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  errors %d", k, l.Count,
			l.P50ms, l.P99ms, l.MaxMs, r.Errors[k])
	}
	w := r.Webhook
	if w.Skipped != "" {
		p("webhook burst skipped: %s", w.Skipped)
	} else {
		names := make([]string, 0, len(w.PerRepo))
		for n := range w.PerRepo {
			names = append(names, fmt.Sprintf("%s=%d", n, w.PerRepo[n]))
		}
		slices.Sort(names)
		p("webhook: %d events in %d posts became %d runs (%d named in answers) over %d "+
			"repositories: %s", w.Events, w.Posts, w.Runs, w.Answered, len(w.PerRepo),
			strings.Join(names, " "))
	}
	p("server RSS MiB: start %.1f, peak %.1f, end %.1f; timeline (s MiB): %s", r.RSS.StartMiB,
		r.RSS.PeakMiB, r.RSS.EndMiB, strings.Join(r.RSS.Timeline, ", "))
	for _, s := range r.ErrorSamples {
		p("error: %s", s)
	}
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
