package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
)

// floorClient is the reference the bench holds regdrift's check against: a client that makes
// exactly the floor's requests (one tag list per repository per side, one HEAD per tag per
// side), width at a time per registry, with net/http alone and nothing recorded. It is the
// fastest a check can be on these registries.
type floorClient struct {
	hc    *http.Client
	width int
}

func newFloorClient(width int) *floorClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = width
	return &floorClient{hc: &http.Client{Transport: t}, width: width}
}

// floorSide is one registry's answer: tag to digest, per repository.
type floorSide map[string]map[string]string

// check lists and resolves every tag of repos on both registries and counts the states.
func (c *floorClient) check(ctx context.Context, primary, secondary string,
	repos []string) (regdrift.Counts, error) {
	var p, s floorSide
	var errP, errS error
	var wg sync.WaitGroup
	wg.Go(func() { p, errP = c.side(ctx, primary, repos) })
	wg.Go(func() { s, errS = c.side(ctx, secondary, repos) })
	wg.Wait()
	if errP != nil {
		return regdrift.Counts{}, errP
	}
	if errS != nil {
		return regdrift.Counts{}, errS
	}
	var counts regdrift.Counts
	for _, repo := range repos {
		for tag, d := range p[repo] {
			switch sd, ok := s[repo][tag]; {
			case !ok:
				counts.Add(regdrift.StateOnlyOnPrimary)
			case sd == d:
				counts.Add(regdrift.StateInSync)
			default:
				counts.Add(regdrift.StateStale)
			}
		}
		for tag := range s[repo] {
			if _, ok := p[repo][tag]; !ok {
				counts.Add(regdrift.StateOnlyOnSecondary)
			}
		}
	}
	return counts, nil
}

// side resolves one registry: width workers take tag lists and HEADs from one queue, lists
// first, so that the registry always has width requests to answer.
func (c *floorClient) side(ctx context.Context, base string, repos []string) (floorSide,
	error) {
	type job struct{ repo, tag string } // tag "" lists the repository
	out := floorSide{}
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan job, len(repos))
	var pending sync.WaitGroup
	pending.Add(len(repos))
	for _, r := range repos {
		jobs <- job{repo: r}
	}
	fail := func(err error) {
		mu.Lock()
		firstErr = cmpErr(firstErr, err)
		mu.Unlock()
	}
	var workers sync.WaitGroup
	for range c.width {
		workers.Go(func() {
			for j := range jobs {
				if j.tag == "" {
					tags, err := c.tags(ctx, base, j.repo)
					if err != nil {
						fail(err)
					}
					pending.Add(len(tags))
					// The queue may be full: hand the HEADs over without blocking a worker.
					go func() {
						for _, t := range tags {
							jobs <- job{repo: j.repo, tag: t}
						}
					}()
				} else {
					d, err := c.head(ctx, base, j.repo, j.tag)
					if err != nil {
						fail(err)
					}
					mu.Lock()
					if out[j.repo] == nil {
						out[j.repo] = map[string]string{}
					}
					out[j.repo][j.tag] = d
					mu.Unlock()
				}
				pending.Done()
			}
		})
	}
	pending.Wait()
	close(jobs)
	workers.Wait()
	return out, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// tags lists a repository; an unknown repository has none.
func (c *floorClient) tags(ctx context.Context, base, repo string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/"+repo+"/tags/list",
		nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("tags of %s: %w", repo, err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("tags of %s: status %d", repo, resp.StatusCode)
	case resp.Header.Get("Link") != "":
		return nil, fmt.Errorf("tags of %s: paged; the reference client reads one page", repo)
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", repo, err)
	}
	return body.Tags, nil
}

func (c *floorClient) head(ctx context.Context, base, repo, tag string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead,
		base+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", strings.Join(regtest.ManifestTypes, ", "))
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	if err := resp.Body.Close(); err != nil {
		return "", err
	}
	d := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || d == "" {
		return "", fmt.Errorf("head %s:%s: status %d", repo, tag, resp.StatusCode)
	}
	return d, nil
}
