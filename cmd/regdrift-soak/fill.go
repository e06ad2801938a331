package main

import (
	"context"
	"encoding/json"
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
	img, err := regtest.Build(regtest.Spec{Kind: regtest.OCIImage, Seed: name})
	if err != nil {
		return err
	}
	for j := range tags {
		tag := fmt.Sprintf("1.%d", j)
		raw, err := annotated(img.Raw, tag)
		if err != nil {
			return err
		}
		if err := put(ctx, rc, primary, name, tag, img, raw, j == 0); err != nil {
			return err
		}
		switch {
		case j%10 == 9:
			continue // only on the primary
		case j%7 == 6:
			if raw, err = annotated(img.Raw, tag+"-old"); err != nil {
				return err
			}
		}
		if err := put(ctx, rc, secondary, name, tag, img, raw, j == 0); err != nil {
			return err
		}
	}
	return nil
}

// annotated returns the image manifest raw with a version annotation: another manifest on the
// same blobs, made without building the image again.
func annotated(raw []byte, version string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("annotate manifest: %w", err)
	}
	m["annotations"] = map[string]string{"org.opencontainers.image.version": version}
	return json.Marshal(m)
}

// put pushes raw, a manifest on img's blobs, under tag, with the blobs first when first.
func put(ctx context.Context, rc *regclient.RegClient, host, repo, tag string,
	img *regtest.Content, raw []byte, first bool) error {
	if first {
		if err := img.Push(ctx, rc, host, repo, ""); err != nil {
			return err
		}
	}
	resp, err := regtest.PutManifest(ctx, "http://"+host, repo, tag, img.Desc.MediaType, raw)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusCreated {
		return fmt.Errorf("put %s/%s:%s: status %d: %s", host, repo, tag, resp.Status,
			resp.Body)
	}
	return nil
}
