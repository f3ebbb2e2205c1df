// Package sharedstore is a store.DB for the simulator whose many instances
// share what they hold in common.
//
// A simulation runs thousands of real chain.Chain instances, one per node,
// and nodes on the same tip hold the same chain state: the same blocks,
// undo data, indexes and UTXO set. A store.Memory per node holds all of it
// once per node. Here instead:
//
//   - Each Store's content is a version: an immutable, persistent sorted map
//     (a treap, path-copied on write), so a version made by an Update
//     shares every node it did not change with the version before it. The
//     cost of a version is its writes times the depth of the tree.
//   - Versions are deduplicated by content through a memo in the Pool that
//     every store of a simulation shares: an Update is identified by the
//     version it starts from and a digest of its writes, so N nodes that
//     apply the same block to the same state reach one shared version
//     instead of N copies. N nodes on one chain cost about one chain.
//   - Values of 64 bytes and more (serialized blocks, undo data) are
//     interned by content (a 128-bit hash) in the Pool, so two versions that stored the same
//     block by different paths hold its bytes once.
//
// Nothing about validation is shared: every node's chain.Chain still reads
// and writes its own Store and validates every block itself; only the bytes
// of identical results are held once. A Store behaves as store.Memory does
// (same transaction semantics); storetest-style tests check it.
package sharedstore
