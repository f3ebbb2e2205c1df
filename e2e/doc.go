// Package e2e is the end-to-end suite: black-box tests against a
// three-node devnet in real containers, started with docker compose under a
// project name unique to the run. The tests talk to the nodes only through
// their published HTTP APIs, the minichain command line (as a user would)
// and Docker commands; they import nothing of the node.
//
// The image is built the way users build it, `docker compose up -d --build`
// through the multi-stage Dockerfile. Its Go stage starts from
// MINICHAIN_GO_IMAGE when that is set (golang:1.26-alpine, where a registry
// is reachable), else from the image docker/offline.sh makes of the host's
// Go toolchain, with the module downloads seeded from the host's cache: the
// same Dockerfile, with no registry and no network inside the build.
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
