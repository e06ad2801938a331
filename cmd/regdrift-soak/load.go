package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// kind is the class of a request the soak times.
type kind string

const (
	kindPage    kind = "page"
	kindAPI     kind = "api"
	kindWebhook kind = "webhook"
)

// recorder collects latencies and errors from many goroutines.
type recorder struct {
	mu     sync.Mutex
	lat    map[kind][]time.Duration
	errs   map[kind]int
	sample []string
}

func newRecorder() *recorder {
	return &recorder{lat: map[kind][]time.Duration{}, errs: map[kind]int{}}
}

func (r *recorder) ok(k kind, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat[k] = append(r.lat[k], d)
}

// fail counts an error of kind k and keeps the first few messages.
func (r *recorder) fail(k kind, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[k]++
	if len(r.sample) < 10 {
		r.sample = append(r.sample, string(k)+": "+msg)
	}
}

// client is what the load generators share.
type client struct {
	base string
	hc   *http.Client
	rec  *recorder
}

func newClient(base string, conns int, rec *recorder) *client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = conns, conns
	return &client{base: base, hc: &http.Client{Transport: t, Timeout: 30 * time.Second},
		rec: rec}
}

// do sends a request and records its latency under k, or an error for a transport failure or
// a status outside want. It returns the body of a recorded success.
func (c *client) do(ctx context.Context, k kind, method, path string, header http.Header,
	body []byte, want ...int) ([]byte, int, bool) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.rec.fail(k, err.Error())
		return nil, 0, false
	}
	for key, v := range header {
		req.Header[key] = v
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.rec.fail(k, fmt.Sprintf("%s %s: %v", method, path, err))
		}
		return nil, 0, false
	}
	b, err := io.ReadAll(resp.Body)
	err = errors.Join(err, resp.Body.Close())
	d := time.Since(start)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			c.rec.fail(k, fmt.Sprintf("%s %s: read: %v", method, path, err))
		}
		return nil, resp.StatusCode, false
	case !contains(want, resp.StatusCode):
		c.rec.fail(k, fmt.Sprintf("%s %s: status %d: %.200s", method, path, resp.StatusCode,
			b))
		return b, resp.StatusCode, false
	}
	c.rec.ok(k, d)
	return b, resp.StatusCode, true
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readers runs n clients that read pages and the API until ctx ends.
func (c *client) readers(ctx context.Context, n int, repos []string, scanID int64) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.reader(ctx, uint64(i), repos, scanID) })
	}
	wg.Wait()
}

// reader reads one page or API answer after another, picked at random.
func (c *client) reader(ctx context.Context, seed uint64, repos []string, scanID int64) {
	rng := rand.New(rand.NewPCG(seed, 0x50a4))
	for ctx.Err() == nil {
		repo := url.PathEscape(repos[rng.IntN(len(repos))])
		repo = strings.ReplaceAll(repo, "%2F", "/")
		targets := []struct {
			k    kind
			path string
		}{
			{kindPage, "/"},
			{kindPage, "/runs"},
			{kindPage, fmt.Sprintf("/runs/%d", scanID)},
			{kindPage, "/repositories/" + repo},
			{kindAPI, "/api/v1/runs"},
			{kindAPI, fmt.Sprintf("/api/v1/runs/%d", scanID)},
			{kindAPI, fmt.Sprintf("/api/v1/runs/%d/tags?limit=100", scanID)},
			{kindAPI, "/api/v1/repositories"},
			{kindAPI, "/api/v1/repositories/" + repo},
		}
		t := targets[rng.IntN(len(targets))]
		// A repository the scan has not reached yet is a 404 on the API: a clear answer.
		c.do(ctx, t.k, http.MethodGet, t.path, nil, nil, http.StatusOK, http.StatusNotFound)
	}
}

// burstResult is what the webhook burst found out.
type burstResult struct {
	Skipped string
	Posts   int
	Events  int
	// RunIDs are the runs the answers named, by repository.
	RunIDs map[string]map[int64]bool
}

// hookAnswer is the part of the webhook's answer the soak reads.
type hookAnswer struct {
	Runs []struct {
		Repository string `json:"repository"`
		RunID      int64  `json:"run_id"`
	} `json:"runs"`
}

// burst sends events push events over repos, perPost in each envelope, from 20 senders at
// once. With mode auto, a 404 to the first envelope skips the burst.
func (c *client) burst(ctx context.Context, events, perPost int, repos []string,
	mode string) burstResult {
	res := burstResult{RunIDs: map[string]map[int64]bool{}}
	envelopes := make(chan []byte)
	go func() {
		defer close(envelopes)
		for i := 0; i < events; i += perPost {
			envelopes <- envelope(i, min(perPost, events-i), repos)
		}
	}()
	first := <-envelopes
	if first == nil {
		return res
	}
	var mu sync.Mutex
	send := func(body []byte, n int) bool {
		b, status, ok := c.postHook(ctx, body, mode == "auto")
		mu.Lock()
		defer mu.Unlock()
		if status == http.StatusNotFound && mode == "auto" {
			res.Skipped = "the webhook endpoint answered 404"
			return false
		}
		res.Posts++
		res.Events += n
		if ok {
			res.record(b)
		}
		return true
	}
	if !send(first, min(perPost, events)) {
		for range envelopes {
		}
		return res
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for body := range envelopes {
				send(body, perPost)
			}
		})
	}
	wg.Wait()
	return res
}

func (c *client) postHook(ctx context.Context, body []byte, allow404 bool) ([]byte, int, bool) {
	h := http.Header{
		"Content-Type":             {"application/vnd.docker.distribution.events.v1+json"},
		"X-Regdrift-Webhook-Token": {webhookSecret},
	}
	want := []int{http.StatusOK, http.StatusAccepted}
	if allow404 {
		want = append(want, http.StatusNotFound)
	}
	return c.do(ctx, kindWebhook, http.MethodPost, "/api/v1/webhooks/registry", h, body,
		want...)
}

func (r *burstResult) record(body []byte) {
	var a hookAnswer
	if json.Unmarshal(body, &a) != nil {
		return
	}
	for _, run := range a.Runs {
		if r.RunIDs[run.Repository] == nil {
			r.RunIDs[run.Repository] = map[int64]bool{}
		}
		r.RunIDs[run.Repository][run.RunID] = true
	}
}

// envelope is a CNCF Distribution notification of n push events, numbered from i, each for
// a tag of one of repos in turn.
func envelope(i, n int, repos []string) []byte {
	type target struct {
		MediaType  string `json:"mediaType"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Digest     string `json:"digest"`
	}
	type event struct {
		ID     string `json:"id"`
		Action string `json:"action"`
		Target target `json:"target"`
	}
	var env struct {
		Events []event `json:"events"`
	}
	for k := i; k < i+n; k++ {
		env.Events = append(env.Events, event{
			ID: fmt.Sprintf("soak-%d", k), Action: "push",
			Target: target{
				MediaType:  "application/vnd.oci.image.manifest.v1+json",
				Repository: repos[k%len(repos)], Tag: fmt.Sprintf("1.%d", k%7),
				Digest: fmt.Sprintf("sha256:%064x", k),
			},
		})
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err) // the types above always marshal
	}
	return b
}
