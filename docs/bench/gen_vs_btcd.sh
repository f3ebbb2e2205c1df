#!/bin/bash
# Regtest "generate N" side by side: btcd v0.26.2 (btcctl generate N) and
# minichain (POST /api/v1/mining/generate {"blocks":N}), one node each, no
# peers, fresh data directories, alternating pairs. Usage:
#   docs/bench/gen_vs_btcd.sh [blocks] [pairs] [minichain extra flags...]
# Prints one line per run: who blocks seconds blocks/s. Run from the
# repository after `make build`. btcd and btcctl are taken from $BTCD_BIN
# (default: installed there on first use with
# `go install github.com/btcsuite/btcd@v0.26.2 .../cmd/btcctl@v0.26.2`).
# Needs curl and bc; uses 127.0.0.1:18997-18999.
set -u
N=${1:-1000}; PAIRS=${2:-3}; shift 2 || true; EXTRA=("$@")
MC=${MC:-bin/minichain}
BIN=${BTCD_BIN:-$HOME/.cache/minichain-bench/btcd}
if [ ! -x $BIN/btcd ] || [ ! -x $BIN/btcctl ]; then
  mkdir -p $BIN
  GOBIN=$BIN go install github.com/btcsuite/btcd@v0.26.2 github.com/btcsuite/btcd/cmd/btcctl@v0.26.2 || exit 1
fi
T=$(mktemp -d /tmp/h14gen.XXXX)
trap 'kill $BPID $MPID 2>/dev/null; wait 2>/dev/null; rm -rf $T' EXIT
BPID=; MPID=
now() { date +%s.%N; }
run_btcd() {
  local d=$T/btcd$1; mkdir -p $d
  $BIN/btcd --regtest --datadir=$d/data --logdir=$d/log --rpcuser=u --rpcpass=p --notls \
    --rpclisten=127.0.0.1:18999 --listen=127.0.0.1:18998 --nodnsseed --miningaddr=mgp6mTqA8dzKKUNC9UY29VYhM66twB1Rx9 \
    >$d/out 2>&1 & BPID=$!
  local C="$BIN/btcctl --regtest --rpcuser=u --rpcpass=p --notls --rpcserver=127.0.0.1:18999"
  for i in $(seq 100); do $C getblockcount >/dev/null 2>&1 && break; sleep 0.1; done
  local t0=$(now); $C generate $N >/dev/null || echo "btcd generate failed"; local t1=$(now)
  local h=$($C getblockcount)
  kill $BPID; wait $BPID 2>/dev/null; BPID=
  echo "btcd $h $(echo "$t1 - $t0" | bc) $(echo "$h / ($t1 - $t0)" | bc)"
}
run_mc() {
  local d=$T/mc$1
  $MC node --network regtest --datadir $d --api-addr 127.0.0.1:18997 --no-p2p "${EXTRA[@]}" >$d.out 2>&1 & MPID=$!
  for i in $(seq 100); do curl -sf http://127.0.0.1:18997/api/v1/height >/dev/null && break; sleep 0.1; done
  local tok=$(cat $d/api.token)
  local t0=$(now)
  curl -sf -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d "{\"blocks\":$N}" http://127.0.0.1:18997/api/v1/mining/generate >/dev/null || echo "minichain generate failed"
  local t1=$(now)
  local h=$(curl -sf http://127.0.0.1:18997/api/v1/height | tr -dc 0-9)
  kill $MPID; wait $MPID 2>/dev/null; MPID=
  echo "minichain $h $(echo "$t1 - $t0" | bc) $(echo "$h / ($t1 - $t0)" | bc)"
}
for p in $(seq $PAIRS); do run_btcd $p; run_mc $p; done
