#!/bin/bash
# RSS of a regtest node (mining, no peers) after loadgen of N transfers.
# Usage: docs/bench/rss_loadgen.sh tag [count] [extra node flags...]
# Run from the repository after `make build`. Writes smaps_<tag>.log
# (RSS/anon/file MiB every 5 s) and gc_<tag>.log to $OUT (default
# /tmp/minichain-rss). Uses 127.0.0.1:$PORT (18996).
set -u
TAG=$1; N=${2:-60000}; shift 2 || shift $#
OUT=${OUT:-/tmp/minichain-rss}; mkdir -p $OUT
MC=${MC:-bin/minichain}; PORT=${PORT:-18996}
D=$(mktemp -d /tmp/h14rss.XXXX)
GODEBUG=gctrace=1 $MC node --network regtest --datadir $D --api-addr 127.0.0.1:$PORT --no-p2p --mine "$@" >$D.out 2>&1 & P=$!
( while kill -0 $P 2>/dev/null; do echo "$(date +%T) $(grep -E '^(Rss|Anonymous|Pss_File)' /proc/$P/smaps_rollup 2>/dev/null | awk '{printf "%s%d ", $1, $2/1024}')"; sleep 5; done > $OUT/smaps_$TAG.log ) & S=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; grep "^gc " $D.out > $OUT/gc_$TAG.log; rm -rf $D $D.out; kill $S 2>/dev/null' EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:$PORT/api/v1/height >/dev/null && break; sleep 0.1; done
curl -sf -X POST -H "Authorization: Bearer $(cat $D/api.token)" -H 'Content-Type: application/json' -d '{"blocks":200}' http://127.0.0.1:$PORT/api/v1/mining/generate >/dev/null
grep -E "VmRSS|VmHWM" /proc/$P/status | tr '\n' ' '; echo "(after 200 blocks)"
timeout 900 $MC loadgen --node http://127.0.0.1:$PORT --datadir $D --count $N --duration 14m \
  --rate 1000 --workers 4 --wallets 40 --quiet --confirm-wait 60s --json > $D.lg.json 2>$D.lg.err
echo "loadgen exit $?"; python3 -c "import json,sys;r=json.load(open('$D.lg.json'));print({k:r[k] for k in ('sent','accepted','confirmed','throughput')})" 2>/dev/null || tail -3 $D.lg.err
rm -f $D.lg.json $D.lg.err
grep -E "VmRSS|VmHWM" /proc/$P/status | tr '\n' ' '; echo "(after loadgen)"
curl -sf http://127.0.0.1:$PORT/api/v1/status | python3 -c "import json,sys;s=json.load(sys.stdin);print('height',s['height'],'utxo_cache',s['utxo_cache'])"
