package node

import "net/http"

// registerExplorer mounts the block explorer's pages on the server. (The
// explorer is being written; this placeholder keeps the route table in one
// place.)
func (n *Node) registerExplorer(mux *http.ServeMux) {}
