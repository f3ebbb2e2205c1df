// Package p2p is minichain's network layer on libp2p: a host with a
// persistent identity, a Kademlia DHT in server mode bootstrapped from
// multiaddrs given on the command line, rendezvous on a namespace derived
// from the genesis hash so nodes that know only a bootstrap node find each
// other, gossipsub topics for NEW_BLOCK and NEW_TX whose validators decode and
// check every message before it is relayed, and a request/response sync
// protocol on streams (status, headers by locator, blocks by hash, mempool).
//
// The package never touches storage, the mempool or the miner: the node
// hands it a read-only view of the chain (Chain) and a Handler that
// processes what arrives and says whether it was valid. docs/PROTOCOL.md
// describes the wire formats, and, under Limits and penalties, every bound a
// peer meets.
//
// # Hostile peers
//
// Every byte from a peer is bounded before it is allocated (frame.go,
// resources.go), every rate per peer (ratelimit.go), every connection per
// address, subnet and in all (conns.go). What an offence costs a peer is
// decided in one place (penalty.go); whether an error is the sender's fault
// is the node's verdict. A peer's claims are believed only as far as it
// backs them (syncpeers.go). Peers of the network are remembered across
// restarts (addrbook.go).
//
// # Concurrency
//
// Host.Run owns every goroutine the package starts (discovery, bootstrap
// retries, gossip read loops, the sync manager and its jobs) and returns
// after they have all stopped. Publish, Connect, Peers and the getters are
// safe for concurrent use.
//
// # Errors
//
// ErrNotRunning is returned by calls that need Run; ErrTooLarge by Publish
// for a message over the size limit. A peer whose offences reach the ban
// threshold is disconnected and refused for BanDuration, doubled by each
// further ban within a day.
package p2p
