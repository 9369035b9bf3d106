#!/usr/bin/env bash
# The appchain service under load (issue 15): a service node (sequencer and queue, --service) and N worker node
# processes over mutual TLS as shipped, driven by `prover-node load`. For each N it runs the load twice:
#   saturation: an offered rate well above what the fleet proves (the mempool absorbs the rest); the figure is
#               transactions proven per second (accepted / (last proven - first submitted))
#   latency:    half the proven rate of the saturation run, where nothing queues up; the figure is the latency
#               from submission to proven (median, p90, max over a sample the generator follows)
# Absolute figures on a shared 2-core machine drift by 15-50% over an hour, and every process here shares the same
# two cores (the service node, N workers and the generator): compare figures of one run of this script only.
#
#   bench/service.sh [--workers "1 2 4"] [--duration 30] [--rate 1500] [--proving-work 2000] [--txs 128]
#                    [--batch 4] [--block-interval 250ms] [--out DIR] [--no-build]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
JAR="$ROOT/cluster-config/target/prover-node.jar"
WORKERS="1 2 4"; DURATION=30; RATE=1500; WORK=2000; TXS=128; BATCH=4; INTERVAL=250ms; OUT=""; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --proving-work) WORK=$2; shift ;;
    --txs) TXS=$2; shift ;;
    --batch) BATCH=$2; shift ;;
    --block-interval) INTERVAL=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    *) echo "service.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-$HERE/bench-results/service-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && mvn -B -q -ntp package -DskipTests)
fi
TLS="$OUT/tls"
java -jar "$JAR" keys --out "$TLS" --nodes 6 > /dev/null

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# waits (at most $3 s) until file $1 has a line matching $2
await_line() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "service.sh: no '$2' in $1 within $3 s" >&2; tail -20 "$1" >&2; return 1; fi
    sleep 0.5
  done
}

# one fleet of $1 worker processes, the load at rate $2; prints the generator's summary lines
run_fleet() {
  local n=$1 rate=$2 tag=$3
  local port http seeds
  port=$(free_port); http=$(free_port); seeds="127.0.0.1:$port"
  java -Xmx1g -jar "$JAR" node --roles sequencer,queue --port "$port" --seeds "$seeds" --tls "$TLS/node-1" \
    --service --http-port "$http" --txs "$TXS" --batch "$BATCH" --block-interval "$INTERVAL" \
    --proving-work "$WORK" > "$OUT/$tag-service.log" 2>&1 &
  PIDS+=($!)
  for i in $(seq 1 "$n"); do
    java -Xmx512m -jar "$JAR" node --roles worker --port "$(free_port)" --seeds "$seeds" --tls "$TLS/node-$((i + 1))" \
      > "$OUT/$tag-worker-$i.log" 2>&1 &
    PIDS+=($!)
  done
  await_line "$OUT/$tag-service.log" "appchain service: transactions to POST" 240
  java -jar "$JAR" load --node "127.0.0.1:$http" --rate "$rate" --duration "${DURATION}s" \
    --wait-proven 600s > "$OUT/$tag-load.log" 2>&1 || echo "service.sh: the load generator exited $? ($tag)" >&2
  grep '^load' "$OUT/$tag-load.log" | sed "s/^/$tag /"
  cleanup
}

{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(java -version 2>&1 | head -1)"
  echo "settings: blocks of at most $TXS txs every $INTERVAL, $BATCH blocks per batch proof, proving-work $WORK, \
${DURATION} s of load"
} | tee "$OUT/summary.txt"
for n in $WORKERS; do
  run_fleet "$n" "$RATE" "workers-$n-saturation" | tee -a "$OUT/summary.txt"
  proven=$(grep -o 'proven-tps=[0-9.]*' "$OUT/workers-$n-saturation-load.log" | tail -1 | cut -d= -f2)
  half=$(python3 -c "print(max(1, int(float('${proven:-2}') / 2)))")
  run_fleet "$n" "$half" "workers-$n-latency" | tee -a "$OUT/summary.txt"
done
echo "results in $OUT"
