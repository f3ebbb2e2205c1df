# minichain build and test entry points.
#
#   make build   builds ./bin/minichain
#   make test    the whole suite: gofmt check, go vet, race-enabled unit tests,
#                short fuzz runs of every decoder (and, once it exists, e2e)

GO        ?= go
FUZZTIME  ?= 8s
BIN       := bin/minichain

# Every fuzz target, as package:FuzzName. go test -fuzz runs one target at a time.
FUZZ_TARGETS := \
	./chain:FuzzHeaderDecode \
	./chain:FuzzTxDecode \
	./chain:FuzzBlockDecode \
	./wallet:FuzzDecodeAddress \
	./wallet:FuzzParseAmount \
	./p2p:FuzzSyncDecode

.PHONY: all build test unit fmt-check vet race fuzz clean

all: build

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/minichain

test: unit

unit: fmt-check vet race fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf bin
