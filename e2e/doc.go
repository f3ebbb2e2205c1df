// Package e2e is the end-to-end suite: black-box tests against a
// three-node devnet in real containers, started with docker compose under a
// project name unique to the run. The tests talk to the nodes only through
// their published HTTP APIs, the minichain command line (as a user would)
// and Docker commands; they import nothing of the node.
//
// The tests are behind the e2e build tag:
//
//	make e2e                            # or
//	go test -tags e2e -count=1 -v ./e2e
//
// Every wait has a deadline. On failure every container's log is saved under
// testout/e2e/<project>/; containers, networks, volumes and the test image
// are removed at the end, pass or fail.
package e2e
