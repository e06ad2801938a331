package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/regclient/regclient"

	"github.com/regdrift/regdrift/sync/regtest"
)

// fillWorkers bounds the repositories pushed at once.
const fillWorkers = 8

// fill pushes repos repositories of tags tags each to the primary and most of them to the
// secondary, and returns the repository names. The tags of a repository are one OCI image
// under different annotations, so they share their blobs and a fill is mostly manifest PUTs.
// The secondary lacks every tenth tag and holds every seventh on an older manifest: drift for
// the scan to find.
func fill(ctx context.Context, primary, secondary string, repos, tags int) ([]string, error) {
	names := make([]string, repos)
	for i := range names {
		names[i] = fmt.Sprintf("soak/team%02d/app%04d", i%10, i)
	}
	rc := regtest.NewClient(primary, secondary)
	work := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range fillWorkers {
		wg.Go(func() {
			for name := range work {
				if err := fillRepo(ctx, rc, primary, secondary, name, tags); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	return names, errors.Join(errs...)
}

func fillRepo(ctx context.Context, rc *regclient.RegClient, primary, secondary, name string,
	tags int) error {
	for j := range tags {
		tag := fmt.Sprintf("1.%d", j)
		c, err := variant(name, tag)
		if err != nil {
			return err
		}
		if err := put(ctx, rc, primary, name, tag, c, j == 0); err != nil {
			return err
		}
		switch {
		case j%10 == 9:
			continue // only on the primary
		case j%7 == 6:
			if c, err = variant(name, tag+"-old"); err != nil {
				return err
			}
		}
		if err := put(ctx, rc, secondary, name, tag, c, j == 0); err != nil {
			return err
		}
	}
	return nil
}

// variant is the image of repository name under tag: the same blobs for every tag.
func variant(name, tag string) (*regtest.Content, error) {
	return regtest.Build(regtest.Spec{Kind: regtest.OCIImage, Seed: name,
		Annotations: map[string]string{"org.opencontainers.image.version": tag}})
}

// put pushes c under tag: blobs and all when first, the manifest alone otherwise.
func put(ctx context.Context, rc *regclient.RegClient, host, repo, tag string, c *regtest.Content,
	first bool) error {
	if first {
		return c.Push(ctx, rc, host, repo, tag)
	}
	resp, err := regtest.PutManifest(ctx, "http://"+host, repo, tag, c.Desc.MediaType, c.Raw)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusCreated {
		return fmt.Errorf("put %s/%s:%s: status %d: %s", host, repo, tag, resp.Status,
			resp.Body)
	}
	return nil
}
