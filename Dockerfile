# The minichain node image: a multi-stage build from source.
#
#   docker compose up --build            # what users run; or
#   docker build -t minichain:dev .
#
# Stage 1 compiles a static binary (CGO_ENABLED=0) with a Go toolchain image
# named by the GO_IMAGE build argument; stage 2 is FROM scratch around that
# binary, run as user 10001. Machines that reach no registry (CI, the dev
# machines) pass GO_IMAGE=minichain-go:<hash>, an image `make builder-image`
# makes from the host's own Go toolchain, and seed docker/gomodcache/ with the
# module downloads (docker/offline.sh does both); this file is the same for
# both paths. Its RUN steps use the exec form because that builder image has
# no shell.
ARG GO_IMAGE=golang:1.26-alpine

FROM ${GO_IMAGE} AS build
ENV CGO_ENABLED=0 GOOS=linux GOMODCACHE=/go/pkg/mod GOFLAGS=-trimpath
WORKDIR /src
# Module downloads first, so their layer is reused until go.mod or go.sum
# change. docker/gomodcache/ holds only a README in a clone, and `go mod
# download` fetches from GOPROXY; when docker/offline.sh has filled it with
# the module zips, nothing is fetched. Either way every zip is checked
# against go.sum.
COPY docker/gomodcache/ /go/pkg/mod/cache/download/
COPY go.mod go.sum ./
RUN ["go", "mod", "download"]
# Compile the heavy dependencies into the build cache in a layer of their own
# too, so a source change recompiles only minichain's packages. A package
# here whose module leaves go.mod fails this step: drop it from the list.
RUN ["go", "build", \
     "github.com/libp2p/go-libp2p", \
     "github.com/libp2p/go-libp2p-kad-dht", \
     "github.com/libp2p/go-libp2p-pubsub", \
     "github.com/dgraph-io/badger/v4", \
     "github.com/prometheus/client_golang/prometheus/promhttp", \
     "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"]
COPY . .
RUN ["go", "build", "-o", "/out/minichain", "./cmd/minichain"]

FROM scratch
COPY --from=build /out/minichain /minichain
# The data directory, owned by the node's user so a named volume created
# from it is writable.
COPY --chown=10001:10001 docker/data/ /data/

ENV MINICHAIN_NETWORK=devnet \
    MINICHAIN_DATADIR=/data \
    MINICHAIN_API_ADDR=0.0.0.0:8080 \
    MINICHAIN_P2P_LISTEN=/ip4/0.0.0.0/tcp/4001

USER 10001:10001
VOLUME ["/data"]
# 8080: HTTP API and explorer; 4001: libp2p.
EXPOSE 8080 4001

# The binary checks itself: the image has no shell and no curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 CMD ["/minichain", "health"]

ENTRYPOINT ["/minichain"]
CMD ["node"]
