package server

import "github.com/regdrift/regdrift"

// NOTE: this file depends on nothing but the root package, so that the CLI can print tags in
// the very shape the API serves them without pulling in the rest of the server.

// TagJSON is the JSON shape of one tag's drift, shared by the API and the CLI. Every field is
// always present; an empty one means "none" (an absent tag has an empty digest).
type TagJSON struct {
	Tag                string          `json:"tag"`
	State              regdrift.State  `json:"state"`
	PrimaryDigest      string          `json:"primary_digest"`
	SecondaryDigest    string          `json:"secondary_digest"`
	PrimaryMediaType   string          `json:"primary_media_type"`
	SecondaryMediaType string          `json:"secondary_media_type"`
	Missing            []string        `json:"missing"`
	Platforms          []string        `json:"platforms"`
	Action             regdrift.Action `json:"action"`
	Result             regdrift.Result `json:"result"`
	Error              string          `json:"error"`
	VerifiedState      regdrift.State  `json:"verified_state"`
}

// NewTagJSON flattens a tag's drift into its JSON shape. Missing and Platforms are never nil,
// so they encode as [] rather than null.
func NewTagJSON(t regdrift.TagDrift) TagJSON {
	return TagJSON{
		Tag:                t.Tag,
		State:              t.State,
		PrimaryDigest:      t.Primary.Digest,
		SecondaryDigest:    t.Secondary.Digest,
		PrimaryMediaType:   t.Primary.MediaType,
		SecondaryMediaType: t.Secondary.MediaType,
		Missing:            orEmpty(t.Missing),
		Platforms:          orEmpty(t.Platforms),
		Action:             t.Action,
		Result:             t.Result,
		Error:              t.Error,
		VerifiedState:      t.Verified,
	}
}
