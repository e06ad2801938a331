package regtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/regclient/regclient/types/mediatype"
)

// ManifestTypes are the four manifest media types a modern client accepts.
var ManifestTypes = []string{
	mediatype.OCI1ManifestList, mediatype.OCI1Manifest,
	mediatype.Docker2ManifestList, mediatype.Docker2Manifest,
}

// RawResponse is a registry's answer to a request made with net/http alone, for tests that
// must see exactly what the registry says.
type RawResponse struct {
	Status int
	// Digest and MediaType are the Docker-Content-Digest and Content-Type headers.
	Digest    string
	MediaType string
	Header    http.Header
	Body      []byte
}

// RawManifest sends method (HEAD, GET or DELETE) for /v2/<repo>/manifests/<reference> to the
// registry at baseURL with one Accept header per type in accept.
func RawManifest(ctx context.Context, method, baseURL, repo, reference string,
	accept ...string) (RawResponse, error) {
	u := baseURL + "/v2/" + repo + "/manifests/" + reference
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return RawResponse{}, fmt.Errorf("raw %s %s: %w", method, u, err)
	}
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	return rawDo(req)
}

func rawDo(req *http.Request) (RawResponse, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return RawResponse{}, fmt.Errorf("raw %s %s: %w", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	closeErr := resp.Body.Close()
	if err != nil {
		return RawResponse{}, fmt.Errorf("raw %s %s: read: %w", req.Method, req.URL, err)
	}
	if closeErr != nil {
		return RawResponse{}, fmt.Errorf("raw %s %s: close: %w", req.Method, req.URL, closeErr)
	}
	return RawResponse{
		Status:    resp.StatusCode,
		Digest:    resp.Header.Get("Docker-Content-Digest"),
		MediaType: resp.Header.Get("Content-Type"),
		Header:    resp.Header,
		Body:      body,
	}, nil
}

// RawTagPages lists the tags of repo on the registry at baseURL page by page, following
// each Link header with rel="next" as the distribution spec describes.
func RawTagPages(ctx context.Context, baseURL, repo string) ([][]string, error) {
	pages, err := rawPages(ctx, baseURL, "/v2/"+repo+"/tags/list", "tags")
	if err != nil {
		return nil, fmt.Errorf("tag pages of %s: %w", repo, err)
	}
	return pages, nil
}

// RawCatalogPages lists the repositories of the registry at baseURL page by page, following
// each Link header with rel="next".
func RawCatalogPages(ctx context.Context, baseURL string) ([][]string, error) {
	pages, err := rawPages(ctx, baseURL, "/v2/_catalog", "repositories")
	if err != nil {
		return nil, fmt.Errorf("catalog pages: %w", err)
	}
	return pages, nil
}

// rawPages GETs path and each next page after it, collecting the list in field of each body.
func rawPages(ctx context.Context, baseURL, path, field string) ([][]string, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	var pages [][]string
	for next := path; next != ""; {
		u, err := base.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("next %q: %w", next, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := rawDo(req)
		if err != nil {
			return nil, err
		}
		if resp.Status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d: %s", u, resp.Status, resp.Body)
		}
		var body map[string]json.RawMessage
		var page []string
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		if list, ok := body[field]; ok && string(list) != "null" {
			if err := json.Unmarshal(list, &page); err != nil {
				return nil, fmt.Errorf("GET %s: %s: %w", u, field, err)
			}
		}
		pages = append(pages, page)
		next = nextLink(resp.Header.Values("Link"))
	}
	return pages, nil
}

// nextLink returns the target of the Link header value with rel="next", or "".
func nextLink(values []string) string {
	for _, v := range values {
		for link := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok || !strings.Contains(params, `rel="next"`) {
				continue
			}
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}
