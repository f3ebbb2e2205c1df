# The minichain node image. No registry is needed: it is FROM scratch around
# the static binary built on the host (CGO_ENABLED=0). `make docker` builds
# both; `make up` also starts the three-node network.
FROM scratch

COPY build/minichain /minichain
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
