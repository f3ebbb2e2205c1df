package p2p

import "github.com/libp2p/go-libp2p/core/peer"

// What the attack tests ask of a Host beyond its behaviour on the wire, in
// one file: run against the code before the hardening, they used a version
// of this file written for it (the report of issue 11 says how).

// isBanned reports whether h refuses p.
func isBanned(h *Host, p peer.ID) bool { return h.Banned(p) }

// charged reports whether h has charged p with an offence.
func charged(h *Host, p peer.ID) bool { return h.penalties.score(p) > 0 || h.Banned(p) }

// withPeersFile keeps the host's address book in path.
func withPeersFile(path string) func(*Config) { return func(c *Config) { c.PeersFile = path } }
