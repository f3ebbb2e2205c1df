#!/bin/sh
# offline.sh prepares a `docker build` of ../Dockerfile on a machine that
# reaches no container registry (CI, the dev machines here), so that the
# image is still built through the same multi-stage Dockerfile users build
# with `docker compose up --build`:
#
#   docker/offline.sh builder   make (once per Go toolchain) the builder image
#                               minichain-go:<hash> from the host's own Go
#                               toolchain and print its name;
#   docker/offline.sh seed      fill docker/gomodcache/ with the module
#                               downloads go.mod needs, so that the
#                               Dockerfile's `go mod download` fetches
#                               nothing (redone only when go.sum changes);
#   docker/offline.sh prepare   both; prints the builder image's name, for
#                               `--build-arg GO_IMAGE=...` or
#                               MINICHAIN_GO_IMAGE=... docker compose up --build
#
# The builder image is `docker import` of a root file system holding only
# GOROOT (at /usr/local/go, where the golang images have it), /tmp, /root
# and the host's CA bundle: the Go toolchain is static and CGO_ENABLED=0 needs no C compiler.
# Its tag is a hash of the toolchain's version and main binaries, so a new
# Go release makes a new image and an unchanged one is never made again.
# Needs: a Linux host with Go, Docker and GNU tar.
set -eu

cd "$(dirname "$0")/.."

# The recipe's version: bump it when the root file system below changes.
recipe=2

builder() {
	goroot=$(go env GOROOT)
	goos=$(go env GOOS)
	if [ "$goos" != linux ]; then
		echo "offline.sh: the host's Go toolchain is for $goos, and the image needs linux;" \
			"build with a registry instead: docker compose up --build" >&2
		exit 1
	fi
	tooldir="$goroot/pkg/tool/${goos}_$(go env GOARCH)"
	hash=$( (echo "recipe $recipe"; go version; cd "$goroot" && sha256sum VERSION bin/go \
		"$tooldir/compile" "$tooldir/link" "$tooldir/asm") | sha256sum | cut -c1-12)
	image="minichain-go:$hash"
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		echo "offline.sh: making $image from $goroot (once per Go toolchain)" >&2
		fs=$(mktemp -d)
		trap 'rm -rf "$fs"' EXIT
		mkdir -p "$fs/tmp" "$fs/root" "$fs/etc/ssl/certs"
		chmod 1777 "$fs/tmp"
		# The host's CA bundle, so that with network (and no seed) the
		# build's `go mod download` can reach GOPROXY over TLS.
		if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
			cp /etc/ssl/certs/ca-certificates.crt "$fs/etc/ssl/certs/"
		fi
		parent=$(dirname "$goroot")
		base=$(basename "$goroot")
		tar -c -C "$fs" tmp root etc -C "$parent" \
			--transform "s,^$base\\(/\\|\$\\),usr/local/go\\1," "$base" |
			docker import \
				--change 'ENV PATH=/usr/local/go/bin:/go/bin' \
				--change 'ENV GOPATH=/go' \
				--change 'ENV HOME=/root' \
				--change 'WORKDIR /go' \
				- "$image" >/dev/null
		rm -rf "$fs"
		trap - EXIT
	fi
	echo "$image"
}

seed() {
	dir=docker/gomodcache
	want=$(cat go.mod go.sum | sha256sum | cut -d' ' -f1)
	if [ -f "$dir/.go.sum.sha256" ] && [ "$(cat "$dir/.go.sum.sha256")" = "$want" ]; then
		return 0
	fi
	echo "offline.sh: seeding $dir with the module downloads" >&2
	tmp=$(mktemp -d)
	trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
	# The host's own module cache first, then its usual proxy for anything
	# missing; every zip is checked against go.sum.
	GOMODCACHE="$tmp" GOFLAGS=-modcacherw \
		GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" \
		go mod download
	find "$dir" -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf "$tmp/cache/download/sumdb"
	cp -R "$tmp/cache/download/." "$dir/"
	find "$dir" \( -name '*.lock' -o -name '*.partial' -o -name '*.tmp' \) -exec rm -f {} +
	echo "$want" >"$dir/.go.sum.sha256"
	chmod -R u+w "$tmp"
	rm -rf "$tmp"
	trap - EXIT
}

case "${1:-}" in
builder) builder ;;
seed) seed ;;
prepare) seed && builder ;;
*)
	echo "usage: docker/offline.sh builder|seed|prepare" >&2
	exit 2
	;;
esac
