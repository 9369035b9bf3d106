#!/usr/bin/env bash
# The reference appchain job across processes, once: a node with roles sequencer,queue and two worker nodes of one
# worker x 2 slots each, plain TCP, the shipped cluster.conf; the sequencer starts only once all three are members
# (pekko.cluster.min-nr-of-members=3) and exits when the job ends. Prints one line: the label, the summary's wall
# time (start-up excluded) and its RESULT line. Used for paired before/after runs of two builds' jars (BENCHMARKS.md,
# "A task waiting for a slot another entity filled"): alternate them, compare the median of the paired ratios.
#
#   bench/cluster-job.sh [--jar JAR] [--label NAME] [--port BASE] [--out DIR] [job options, e.g. --blocks 20 --txs 32
#                        --proving-work 50000]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
JAR="$HERE/../cluster-config/target/prover-node.jar"; LABEL=run; PORT=24100; OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --jar) JAR=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) break ;;
  esac
done
[ -f "$JAR" ] || { echo "cluster-job.sh: no jar at $JAR (mvn -B -q package -DskipTests)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
OPTS=(-Xmx1g -Dpekko.cluster.min-nr-of-members=3)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

java "${OPTS[@]}" -jar "$JAR" node --roles sequencer,queue --no-tls --port "$PORT" --http-port 0 --exit-when-done \
  "$@" > "$OUT/sequencer.log" 2>&1 &
SEQ=$!; PIDS+=("$SEQ")
for i in 1 2; do
  java "${OPTS[@]}" -jar "$JAR" node --roles worker --no-tls --port $((PORT + i)) --http-port 0 \
    --seeds "127.0.0.1:$PORT" --workers 1 --concurrency 2 > "$OUT/worker-$i.log" 2>&1 &
  PIDS+=("$!")
done
# the job ends the sequencer's process; 10 minutes at most
for _ in $(seq 600); do kill -0 "$SEQ" 2>/dev/null || break; sleep 1; done
if kill -0 "$SEQ" 2>/dev/null; then echo "cluster-job.sh: $LABEL did not end within 10 minutes ($OUT)" >&2; exit 1; fi
echo "$LABEL $(grep -h 'wall time' "$OUT/sequencer.log" | tr -s ' ') | $(grep -h '^RESULT' "$OUT/sequencer.log" | cut -c1-40)"
