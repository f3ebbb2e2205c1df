package node

// CloseStoreForTest closes the node's store under it, so tests can see how
// the API answers an internal failure.
func CloseStoreForTest(n *Node) { _ = n.db.Close() }
