// Package sim is a deterministic discrete-event simulator of a minichain
// network in virtual time, over the real consensus code.
//
// Every simulated node runs a real chain.Chain (validation, fork choice,
// reorganisations, the orphan pool) on an in-memory store, a real
// mempool.Mempool, and builds its blocks with the real miner.NewTemplate;
// the blocks carry valid regtest proof of work. Only two things are
// modelled:
//
//   - Mining. The network finds blocks as a Poisson process of mean
//     Config.BlockInterval; each block goes to a miner drawn by its share of
//     the hash power, who builds a template on its own tip at that moment.
//     Block timing is what the parameters say, not what this CPU can do.
//
//   - The network. Nodes are joined by links with a latency, and each node
//     has an upload bandwidth that everything it sends shares, so a big
//     block takes longer and a node relaying to many peers sends the last
//     copy later than the first. The rules follow package p2p: a node
//     relays a block or a transaction only after validating it, and pushes
//     it to its gossipsub mesh (or, in flood mode, to every peer) but the
//     one it came from, with lazy IHAVE/IWANT to others; a block whose
//     parent is unknown makes the node ask the sender for the missing
//     blocks (a block locator, as the sync protocol sends); a node whose tip
//     moved by such a sync announces its tip, and peers that lack it sync
//     from it; when a partition heals, the nodes on each cut link exchange
//     tips and mempools, as reconnecting peers do.
//
// Validation takes the simulated time a cost model gives (per block, byte,
// input and signature; Config.Validation), or none (as in testing/synctest,
// where the cross-check against the real libp2p stack runs).
//
// # Determinism
//
// Each node's events run in order of time, ties broken by who scheduled
// them and in what order (event); workers run different nodes' events side
// by side in windows no message can cross (parallel.go), and the windows
// do not depend on the number of workers. Randomness comes from PCG
// streams derived from Config.Seed, one each for the topology, the mining,
// the traffic and each node's gossip, so the same seed and config give the
// same report, byte for byte, whatever Config.Workers is; wall-clock
// figures are kept out of the report. Chains verify scripts on one
// goroutine, and nothing the report depends on iterates over a map.
//
// # What is measured
//
// Report: blocks mined, stale blocks (mined but not on the final main
// chain) and the stale rate, reorganisations seen by the nodes and their
// depth, how long each block took to reach 50%, 90% and 100% of the nodes,
// transaction confirmation latency, and whether every node ended on one
// tip. After Config.Duration mining goes on (for at most Config.Settle)
// until the nodes agree, because a tie of equal work is broken only by the
// next block, as on a real network.
package sim
