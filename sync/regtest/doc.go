// Package regtest is the kit of real registries and known content that regdrift's tests and
// demo run on.
//
// It builds deterministic images, indexes and manifest lists from a seed and pushes them with
// regclient, damages a registry the ways a mirror goes wrong (dangling indexes, lost blobs),
// pulls an image whole to prove what a client would see, and fills two registries with the
// demo scenario whose truth it knows. Proxy sits in front of a registry to count requests and
// inject faults.
//
// The registries themselves are in dist2 (Distribution 2.8) and dist3 (Distribution v3); this
// package imports neither, so a binary can link it with either one. Everything here works on
// a host ("127.0.0.1:PORT") spoken to over plain HTTP.
package regtest
