// Package hostile is a toolkit of hostile peers for minichain: real libp2p
// hosts (TCP, Noise, yamux) that speak the network's wire protocol — the
// sync protocol and the gossip topics — and use it the way an attacker
// would: blocks crafted to crash or to fill memory, floods of orphans, of
// half-sent sync requests and of maximal legal requests, a peer that claims
// a huge chain and serves nothing of it, swarms of identities that fill a
// node's inbound slots, damaged copies of real blocks published first.
//
// It exists to measure how a node stands up to these (the runner in
// attack drives it against real node processes; `make attack`)
// and to keep the attacks reproducible. It is not used by the node.
//
// The sync protocol's encoding is written here from docs/PROTOCOL.md rather
// than imported from p2p, which exports only what tools need (EncodeStatus,
// SyncProtocol, Topics, MaxMessageSize): an attacker writes the bytes
// itself, and a change to the wire format that the documentation does not
// follow shows up as this package's test failing.
package hostile
