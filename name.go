package regdrift

import "regexp"

// repoNameRE is the repository name grammar of the OCI distribution spec: path components of
// lowercase alphanumerics joined by separators, split by slashes.
var repoNameRE = regexp.MustCompile(
	`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// tagRE is the tag grammar of the OCI distribution spec.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// maxRepoName bounds a repository name; the spec advises registries to accept 255 characters
// with the host, so nothing longer can exist.
const maxRepoName = 255

// ValidateRepoName returns an EINVALID error when name is not a repository name.
func ValidateRepoName(name string) error {
	if name == "" || len(name) > maxRepoName || !repoNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid repository name %q", truncate(name, 80))
	}
	return nil
}

// ValidateTag returns an EINVALID error when tag is not a tag name.
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return Errorf(EINVALID, "invalid tag %q", truncate(tag, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
