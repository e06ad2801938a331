package regtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/config"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/ref"
)

// NewClient returns a regclient that speaks plain HTTP to each of hosts, as a test registry
// on 127.0.0.1 needs.
func NewClient(hosts ...string) *regclient.RegClient {
	cfg := make([]config.Host, 0, len(hosts))
	for _, h := range hosts {
		cfg = append(cfg, config.Host{Name: h, TLS: config.TLSDisabled})
	}
	return regclient.New(regclient.WithConfigHost(cfg...))
}

// parseRef builds a reference to host/repo with an optional tag and digest.
func parseRef(host, repo, tag string, dig digest.Digest) (ref.Ref, error) {
	r, err := ref.New(host + "/" + repo)
	if err != nil {
		return ref.Ref{}, fmt.Errorf("reference %s/%s: %w", host, repo, err)
	}
	if tag != "" {
		r = r.SetTag(tag)
	}
	if dig != "" {
		r = r.SetDigest(dig.String())
	}
	return r, nil
}

// DeleteManifest deletes the manifest dig from host/repo. Distribution removes every tag that
// points at it too, and 2.8 deletes a manifest that an index still references, leaving that
// index dangling.
func DeleteManifest(ctx context.Context, rc *regclient.RegClient, host, repo string,
	dig digest.Digest) error {
	r, err := parseRef(host, repo, "", dig)
	if err != nil {
		return err
	}
	if err := rc.ManifestDelete(ctx, r); err != nil {
		return fmt.Errorf("delete manifest %s: %w", r.CommonName(), err)
	}
	return nil
}

// DeleteBlob unlinks the blob dig from host/repo (plain HTTP), so that pulls of any image
// there that uses it fail while its manifest still reads fine.
//
// NOTE: it sends the DELETE itself: regclient v0.11.7's BlobDelete never closes its response,
// so each call keeps one of the client's request slots for a host until none is left and the
// next request waits for ever. rc is kept so that callers need not change.
func DeleteBlob(ctx context.Context, _ *regclient.RegClient, host, repo string,
	dig digest.Digest) error {
	u := "http://" + host + "/v2/" + repo + "/blobs/" + dig.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return fmt.Errorf("delete blob %s from %s/%s: %w", dig, host, repo, err)
	}
	resp, err := rawDo(req)
	if err != nil {
		return fmt.Errorf("delete blob %s from %s/%s: %w", dig, host, repo, err)
	}
	if resp.Status != http.StatusAccepted {
		return fmt.Errorf("delete blob %s from %s/%s: status %d: %.200s", dig, host, repo,
			resp.Status, resp.Body)
	}
	return nil
}

// ErrBadContent is wrapped by VerifyPull when content arrived but does not match its digest
// or size.
var ErrBadContent = errors.New("content does not match its descriptor")

// VerifyPull pulls ref ("host/repo:tag" or "host/repo@digest") whole, as a container runtime
// would pull every platform: the manifest, every manifest below it at any depth and every
// config and layer blob, checking each digest and size over the bytes read. The error names
// the first item that is missing or wrong and wraps the registry's error or ErrBadContent.
func VerifyPull(ctx context.Context, rc *regclient.RegClient, refStr string) error {
	r, err := ref.New(refStr)
	if err != nil {
		return fmt.Errorf("reference %q: %w", refStr, err)
	}
	m, err := rc.ManifestGet(ctx, r)
	if err != nil {
		return fmt.Errorf("pull %s: manifest: %w", refStr, err)
	}
	want := m.GetDescriptor()
	if r.Digest != "" {
		want.Digest = digest.Digest(r.Digest)
	}
	if err := checkManifest(ctx, rc, r, m, want); err != nil {
		return fmt.Errorf("pull %s: %w", refStr, err)
	}
	return nil
}

// checkManifest checks that m's body matches want, then checks what m references.
func checkManifest(ctx context.Context, rc *regclient.RegClient, r ref.Ref,
	m manifest.Manifest, want descriptor.Descriptor) error {
	raw, err := m.RawBody()
	if err != nil {
		return fmt.Errorf("manifest %s: %w", want.Digest, err)
	}
	if err := checkBytes(raw, want); err != nil {
		return fmt.Errorf("manifest %s: %w", want.Digest, err)
	}

	if idx, ok := m.(manifest.Indexer); ok {
		children, err := idx.GetManifestList()
		if err != nil {
			return fmt.Errorf("manifest %s: children: %w", want.Digest, err)
		}
		for _, d := range children {
			child, err := rc.ManifestGet(ctx, r.SetDigest(d.Digest.String()))
			if err != nil {
				return fmt.Errorf("manifest %s%s: %w", d.Digest, platformOf(d), err)
			}
			if err := checkManifest(ctx, rc, r, child, d); err != nil {
				return err
			}
		}
	}
	if img, ok := m.(manifest.Imager); ok {
		cfg, err := img.GetConfig()
		if err != nil {
			return fmt.Errorf("manifest %s: config: %w", want.Digest, err)
		}
		layers, err := img.GetLayers()
		if err != nil {
			return fmt.Errorf("manifest %s: layers: %w", want.Digest, err)
		}
		for _, d := range append([]descriptor.Descriptor{cfg}, layers...) {
			if err := checkBlob(ctx, rc, r, d); err != nil {
				return fmt.Errorf("blob %s of manifest %s: %w", d.Digest, want.Digest, err)
			}
		}
	}
	return nil
}

func checkBlob(ctx context.Context, rc *regclient.RegClient, r ref.Ref,
	d descriptor.Descriptor) error {
	rdr, err := rc.BlobGet(ctx, r, d)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(rdr)
	closeErr := rdr.Close()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if closeErr != nil {
		return fmt.Errorf("close: %w", closeErr)
	}
	return checkBytes(data, d)
}

// checkBytes compares data with the digest and, when known, the size of d.
func checkBytes(data []byte, d descriptor.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w", d.Digest, err)
	}
	if got := d.Digest.Algorithm().FromBytes(data); got != d.Digest {
		return fmt.Errorf("read digest %s: %w", got, ErrBadContent)
	}
	if d.Size > 0 && int64(len(data)) != d.Size {
		return fmt.Errorf("read %d bytes, want %d: %w", len(data), d.Size, ErrBadContent)
	}
	return nil
}

func platformOf(d descriptor.Descriptor) string {
	if d.Platform == nil {
		return ""
	}
	return " (" + d.Platform.String() + ")"
}
