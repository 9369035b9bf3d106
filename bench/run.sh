#!/usr/bin/env bash
# Benchmarks of pekko-prover, optionally side by side with the BullMQ baseline (../shared/bench/bullmq) in the
# same run, with the ratios. Absolute figures on a shared 2-core machine drift by 15-50% over an hour: compare only
# figures from one run of this script.
#
#   bench/run.sh [--bullmq] [--quick] [--runs N] [--bullmq-runs N] [--workloads LIST] [--cluster-workloads LIST]
#                [--rounds N] [--no-build] [--no-wait] [--profile] [--jmh] [--xmx SIZE] [--out DIR] [--bullmq-dir DIR]
#                [-- HARNESS_ARGS...]
#
#   --bullmq         also run the BullMQ baseline (needs redis-server, node and npm: installed with apt-get when
#                    missing, as the baseline's README says) and print ours/bullmq ratios
#   --quick          tiny sizes, one run each (a smoke run of the whole chain, not figures)
#   --runs N         measured runs per measurement of our harness (default: each workload's own, 3 to 10)
#   --bullmq-runs N  runs of the baseline (default 1; about 1 minute per run)
#   --workloads L    what our harness runs (default all,memory,cluster,cluster-nocheck): one-JVM workloads (all =
#                    throughput,latency,tree,sched,fleet,join), memory (heap workloads, in a JVM of their own with
#                    a fixed -Xmx), cluster (the cross-process workloads: the worker in a process of its own,
#                    joined over loopback) and cluster-nocheck (cross-process throughput at c=8,64 and latency at
#                    c=1 once more with the payload size check off, prover.queue.cluster.max-payload-size = 0: what
#                    the check costs; into ours-nocheck.txt, not judged). Not in the default, add them by name:
#                    durable (one-JVM throughput at c=64 and tree with the sequencer's journal none, h2 and
#                    postgres, interleaved round by round; postgres needs PROVER_TEST_DB_URL, _USER, _PASSWORD or
#                    -- --db-url ...; with --bullmq also the baseline with Redis AOF everysec, and the ratios
#                    ours-durable/BullMQ-AOF) and metrics-off (throughput at c=8,64 and tree, one JVM and
#                    cluster, prover.metrics.enabled on then off, alternating) and tls (cross-process
#                    throughput at c=64 and sequential latency with mutual TLS, as shipped, then plain TCP,
#                    alternating); all into ours.txt, the cost lines of ratios.txt compare them with the plain
#                    (shipped) set-up
#   --rounds N       rounds of the durable, metrics-off and tls groups (default 3; --quick 1)
#   --cluster-workloads L  which workloads the cluster part runs (default throughput,latency,tree,join)
#   --no-build       use bench/target/bench.jar as it is
#   --no-wait        do not wait for a quiet machine
#   --profile        record the runs with JFR (1 ms sampling) and print their hot methods: the one-JVM run, and
#                    in the cluster run the bench JVM and each worker process
#   --jmh            also run the JMH benchmarks of the queue's bookkeeping (TaskQueueState), about 5 minutes
#   --xmx SIZE       fixed heap of the memory run (default 1g)
#   --out DIR        where the results go (default bench/bench-results/<date-time>)
#   --bullmq-dir D   the baseline's folder (default ../shared/bench/bullmq beside the project)
#   after --          more arguments for our harness (e.g. --conf 'pekko.actor...=2')
#
# Results in the output folder: ours.txt (our harness's lines), bullmq.txt (the baseline's), ratios.txt
# (ratio and target lines), machine.txt, ours-nocheck.txt (cluster-nocheck), with --profile profile*.jfr and
# hot-methods*.txt, with --jmh jmh.txt.
# Environment: JAVA_OPTS for our JVMs but the memory run (default -Xms1g -Xmx1g; a worker process gets the same heap);
# PORT for the baseline's Redis (6390).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
JAR="$HERE/target/bench.jar"

BULLMQ=0; QUICK=0; RUNS=""; BULLMQ_RUNS=1; WORKLOADS="all,memory,cluster,cluster-nocheck"; BUILD=1; WAIT=1
PROFILE=0; JMH=0; XMX=1g; ROUNDS=""; CLUSTER_WORKLOADS="throughput,latency,tree,join"
OUT=""; BULLMQ_DIR="$ROOT/../shared/bench/bullmq"; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bullmq) BULLMQ=1 ;;
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --bullmq-runs) BULLMQ_RUNS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --cluster-workloads) CLUSTER_WORKLOADS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-build) BUILD=0 ;;
    --no-wait) WAIT=0 ;;
    --profile) PROFILE=1 ;;
    --jmh) JMH=1 ;;
    --xmx) XMX=$2; shift ;;
    --out) OUT=$2; shift ;;
    --bullmq-dir) BULLMQ_DIR=$2; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
JAVA_OPTS=${JAVA_OPTS:--Xms1g -Xmx1g}
OUT=${OUT:-"$HERE/bench-results/$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "# results in $OUT"

# ------------------------------------------------------------------ machine and quietness
# Busy CPU of the whole machine over 2 s, in % of one core (as the baseline's run-all.sh measures it).
busy_pct() {
  local a b ta=0 tb=0 i
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
  local ia=$((a[4] + a[5])) ib=$((b[4] + b[5]))
  echo $(( 100 * ((tb - ta) - (ib - ia)) / 200 ))
}
# Waits (at most 5 min) until other processes leave the cores alone; says how busy it was either way.
wait_quiet() {
  [ "$WAIT" = 1 ] || { echo "# not waiting for a quiet machine (busy $(busy_pct)% of one core)"; return; }
  local t0=$SECONDS b
  while :; do
    b=$(busy_pct)
    if [ "$b" -le 15 ]; then echo "# machine quiet (busy ${b}% of one core) at $(date -u +%FT%TZ)"; return; fi
    if [ $((SECONDS - t0)) -ge 300 ]; then
      echo "# WARNING: machine still busy (${b}% of one core) at $(date -u +%FT%TZ); running anyway"; return
    fi
    echo "# machine busy (${b}% of one core), waiting" >&2; sleep 10
  done
}

{
  echo "# date: $(date -u +%FT%TZ)"
  echo "# host: $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
  echo "# memory: $(free -m | awk '/Mem:/ {print $2 " MB"}')"
  echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# virtualisation: $(lscpu 2>/dev/null | awk -F: '/Hypervisor vendor/ {gsub(/ /,"",$2); print $2}')"
  echo "# java: $(java -version 2>&1 | head -1)"
  echo "# node: $(node --version 2>/dev/null || echo none); redis: $(redis-server --version 2>/dev/null | cut -d' ' -f3 || echo none)"
  echo "# JAVA_OPTS: $JAVA_OPTS; memory run: -Xms$XMX -Xmx$XMX"
  echo "# commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (with local changes)')"
} | tee "$OUT/machine.txt"

# ------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
  echo "# building: mvn -B -q -DskipTests install"
  (cd "$ROOT" && mvn -B -q -DskipTests install)
fi
[ -f "$JAR" ] || { echo "no $JAR: build first (drop --no-build)" >&2; exit 1; }

# ------------------------------------------------------------------ ours
HARNESS_ARGS=()
[ "$QUICK" = 1 ] && HARNESS_ARGS+=(--quick)
[ -n "$RUNS" ] && HARNESS_ARGS+=(--runs "$RUNS")
HARNESS_ARGS+=("${EXTRA[@]+"${EXTRA[@]}"}")
PROFILE_OPTS=(); CLUSTER_PROFILE_OPTS=()
if [ "$PROFILE" = 1 ]; then
  # the JDK's profile settings, with CPU samples every millisecond instead of every 10-20 ms
  sed -e '/jdk.ExecutionSample/,/<\/event>/ s#<setting name="period"\([^>]*\)>[^<]*</setting>#<setting name="period"\1>1 ms</setting>#' \
    "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/lib/jfr/profile.jfc" > "$OUT/profile.jfc"
  PROFILE_OPTS=("-XX:StartFlightRecording=filename=$OUT/profile.jfr,settings=$OUT/profile.jfc")
  # the cluster run: the bench JVM, and each worker process ({n}: its number) through bench.worker.java-opts
  CLUSTER_PROFILE_OPTS=("-XX:StartFlightRecording=filename=$OUT/profile-cluster.jfr,settings=$OUT/profile.jfc"
    "-Dbench.worker.java-opts=-XX:StartFlightRecording=filename=$OUT/profile-worker{n}.jfr,settings=$OUT/profile.jfc")
fi

JVM_WORKLOADS=(); RUN_MEMORY=0; RUN_CLUSTER=0; RUN_NOCHECK=0; RUN_DURABLE=0; RUN_METRICS_OFF=0; RUN_TLS=0
for w in ${WORKLOADS//,/ }; do
  case "$w" in
    durable) RUN_DURABLE=1 ;;
    metrics-off) RUN_METRICS_OFF=1 ;;
    tls) RUN_TLS=1 ;;
    memory) RUN_MEMORY=1 ;;
    cluster) RUN_CLUSTER=1 ;;
    cluster-nocheck) RUN_NOCHECK=1 ;;
    *) JVM_WORKLOADS+=("$w") ;;
  esac
done

ours_status=0
wait_quiet | tee -a "$OUT/ours.txt"
if [ ${#JVM_WORKLOADS[@]} -gt 0 ]; then
  echo "# ours: java $JAVA_OPTS -jar bench.jar ${JVM_WORKLOADS[*]} --deployment jvm ${HARNESS_ARGS[*]-}" \
    | tee -a "$OUT/ours.txt"
  # shellcheck disable=SC2086
  java $JAVA_OPTS "${PROFILE_OPTS[@]+"${PROFILE_OPTS[@]}"}" -jar "$JAR" "${JVM_WORKLOADS[@]}" --deployment jvm \
    "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}" | tee -a "$OUT/ours.txt" || ours_status=1
fi
if [ "$RUN_CLUSTER" = 1 ]; then
  echo "# ours: java $JAVA_OPTS -jar bench.jar $CLUSTER_WORKLOADS --deployment cluster ${HARNESS_ARGS[*]-}" \
    | tee -a "$OUT/ours.txt"
  # shellcheck disable=SC2086
  java $JAVA_OPTS "${CLUSTER_PROFILE_OPTS[@]+"${CLUSTER_PROFILE_OPTS[@]}"}" -jar "$JAR" "$CLUSTER_WORKLOADS" \
    --deployment cluster "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}" | tee -a "$OUT/ours.txt" || ours_status=1
  # the transport's own floor in the same run (issue 14 judges the cross-process p99 against it): bare Pekko, one
  # ask at a time between two JVMs, the same serializer and dispatcher settings; over plain Artery TCP and over
  # mutual TLS as the cluster ships (the target takes the TLS one, the transport the judged lines ran over)
  BARE=(--count 2000 --runs 5)
  [ "$QUICK" = 1 ] && BARE=(--count 200 --runs 1)
  for transport in tcp tls-tcp; do
    echo "# bare: java $JAVA_OPTS -cp bench.jar dev.pekkoprover.bench.BareRoundTrip ${BARE[*]} --transport $transport" \
      | tee -a "$OUT/ours.txt"
    # shellcheck disable=SC2086
    java $JAVA_OPTS -cp "$JAR" dev.pekkoprover.bench.BareRoundTrip "${BARE[@]}" --transport "$transport" \
      | tee -a "$OUT/ours.txt" || ours_status=1
  done
  # and the transport's ceiling for the c=64 throughput line (a "bound" line, not a target): tasks' bytes in
  # flight over TLS, 64 as one message each way at a time and as 64 messages, and 320 (the worker's 64 slots and
  # the queue's inline prefetch of 256) as 20 messages of 16 (prover.worker.max-reports-per-message), as ours travel
  WINDOWS=("--window 1 --tasks-per-message 64 --count 5000" "--window 64 --count 20000"
    "--window 20 --tasks-per-message 16 --count 5000")
  [ "$QUICK" = 1 ] && WINDOWS=("--window 1 --tasks-per-message 64 --count 200" "--window 64 --count 1000"
    "--window 20 --tasks-per-message 16 --count 200")
  for window in "${WINDOWS[@]}"; do
    echo "# bare: java $JAVA_OPTS -cp bench.jar dev.pekkoprover.bench.BareRoundTrip $window --runs ${BARE[3]}" \
      "--transport tls-tcp" | tee -a "$OUT/ours.txt"
    # shellcheck disable=SC2086
    java $JAVA_OPTS -cp "$JAR" dev.pekkoprover.bench.BareRoundTrip $window --runs "${BARE[3]}" --transport tls-tcp \
      | tee -a "$OUT/ours.txt" || ours_status=1
  done
fi
if [ "$RUN_NOCHECK" = 1 ]; then
  # cross-process throughput (c=8, 64) and latency (c=1) once more with the payload size check off, to compare
  # with the same lines of ours.txt (not judged: a file of its own)
  NOCHECK=(throughput,latency --deployment cluster --conc 8,64 --lat-conc 1
    --conf "prover.queue.cluster.max-payload-size = 0")
  echo "# ours: java $JAVA_OPTS -jar bench.jar ${NOCHECK[*]:0:7} --conf '${NOCHECK[8]}' ${HARNESS_ARGS[*]-}" \
    | tee "$OUT/ours-nocheck.txt"
  # shellcheck disable=SC2086
  java $JAVA_OPTS -jar "$JAR" "${NOCHECK[@]}" "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}" \
    | tee -a "$OUT/ours-nocheck.txt" || ours_status=1
fi
ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
# one harness run of the side-by-side groups: its command line in ours.txt, then its lines
ours_run() {
  echo "# ours: java $JAVA_OPTS -jar bench.jar $*" | tee -a "$OUT/ours.txt"
  # shellcheck disable=SC2086
  java $JAVA_OPTS -jar "$JAR" "$@" | tee -a "$OUT/ours.txt" || ours_status=1
}
if [ "$RUN_DURABLE" = 1 ]; then
  # issue 10: the durable sequencer (--journal h2: as `prover run`; postgres: as a cluster's sequencer node) beside
  # the in-memory one, interleaved so that drift over the run hits all three alike
  JOURNALS=(none h2)
  if [ -n "${PROVER_TEST_DB_URL:-}" ] || printf '%s\n' "${EXTRA[@]+"${EXTRA[@]}"}" | grep -qx -- --db-url; then
    JOURNALS+=(postgres)
  else
    echo "# WARNING: durable: no PROVER_TEST_DB_URL and no --db-url: journal postgres not measured" | tee -a "$OUT/ours.txt"
  fi
  for round in $(seq "$ROUNDS"); do
    for j in "${JOURNALS[@]}"; do
      ours_run throughput,tree --deployment jvm --conc 64 --journal "$j" "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}"
    done
  done
fi
if [ "$RUN_METRICS_OFF" = 1 ]; then
  # issue 11: what metrics cost: every meter a no-op (prover.metrics.enabled = off, in the worker process too)
  for round in $(seq "$ROUNDS"); do
    for d in jvm cluster; do
      for m in on off; do
        ours_run throughput,tree --deployment "$d" --conc 8,64 "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}" \
          --conf "prover.metrics.enabled = $m"
      done
    done
  done
fi
if [ "$RUN_TLS" = 1 ]; then
  # issue 12: what mutual TLS between the processes costs (the shipped cluster.conf) against plain TCP, throughput at
  # c=64 and sequential latency, interleaved
  for round in $(seq "$ROUNDS"); do
    for t in on off; do
      ours_run throughput,latency --deployment cluster --conc 64 --lat-conc 1 --tls "$t" \
        "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}"
    done
  done
fi
if [ "$RUN_MEMORY" = 1 ]; then
  echo "# ours: java -Xms$XMX -Xmx$XMX -jar bench.jar memory ${HARNESS_ARGS[*]-}" | tee -a "$OUT/ours.txt"
  java "-Xms$XMX" "-Xmx$XMX" -jar "$JAR" memory "${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"}" | tee -a "$OUT/ours.txt" \
    || ours_status=1
fi
if [ "$PROFILE" = 1 ]; then
  for jfr in "$OUT"/profile*.jfr; do
    [ -f "$jfr" ] || continue
    name=$(basename "$jfr" .jfr); name=${name#profile}
    java -cp "$JAR" dev.pekkoprover.bench.HotMethods "$jfr" 40 > "$OUT/hot-methods$name.txt"
    echo "# hot methods of $(basename "$jfr"): $OUT/hot-methods$name.txt"
  done
fi

if [ "$JMH" = 1 ]; then
  wait_quiet | tee "$OUT/jmh.txt"
  JMH_ARGS=(-prof gc)
  [ "$QUICK" = 1 ] && JMH_ARGS+=(-wi 1 -i 1 -w 1 -r 1)
  echo "# jmh: java -cp bench.jar org.openjdk.jmh.Main 'TaskQueueState.*' ${JMH_ARGS[*]}" | tee -a "$OUT/jmh.txt"
  java -cp "$JAR" org.openjdk.jmh.Main 'TaskQueueState.*' "${JMH_ARGS[@]}" -rf text -rff "$OUT/jmh-table.txt" \
    > "$OUT/jmh-log.txt" 2>&1 || ours_status=1
  cat "$OUT/jmh-table.txt" >> "$OUT/jmh.txt"
  grep -E 'ns/op|B/op' "$OUT/jmh-table.txt" || true
fi

# ------------------------------------------------------------------ bullmq
: > "$OUT/bullmq.txt"
if [ "$BULLMQ" = 1 ] && [ ! -f "$BULLMQ_DIR/bench.mjs" ]; then
  echo "# ERROR: no BullMQ baseline at $BULLMQ_DIR (give its folder with --bullmq-dir); ratios without it" >&2
  BULLMQ=0; ours_status=1
fi
if [ "$BULLMQ" = 1 ]; then
  missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "# installing ${missing[*]} (apt-get)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  fi
  work=$(mktemp -d -t bullmq-bench.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cp -r "$BULLMQ_DIR" "$work/bullmq"
  rm -rf "$work/bullmq/results"
  (cd "$work/bullmq" && npm ci --no-audit --no-fund --loglevel=error)
  BULL_ARGS=()
  # --quick: the sizes our harness's --quick uses, so that the ratio lines still pair up
  [ "$QUICK" = 1 ] && BULL_ARGS=(--jobs 500 --lat-jobs 50 --rate 500 --blocks 2 --leaves 8 --tree-conc 4)
  echo "# bullmq: bash run-all.sh off bullmq $BULLMQ_RUNS ${BULL_ARGS[*]-}"
  (cd "$work/bullmq" && bash run-all.sh off bullmq "$BULLMQ_RUNS" "${BULL_ARGS[@]+"${BULL_ARGS[@]}"}")
  cat "$work"/bullmq/results/off-bullmq-run*.txt >> "$OUT/bullmq.txt"
  # the scheduling workload's counterpart: the same tree with tasks of fixed duration (bench.mjs --work-ms)
  WORK_MS=10
  prev=""
  for a in "${EXTRA[@]+"${EXTRA[@]}"}"; do [ "$prev" = --work-ms ] && WORK_MS=$a; prev=$a; done
  [ "$QUICK" = 1 ] && [ "$WORK_MS" != 2 ] && WORK_MS=2
  echo "# bullmq: bash run-all.sh off bullmq 1 --only tree --work-ms $WORK_MS ${BULL_ARGS[*]-} (scheduling counterpart)"
  rm -f "$work"/bullmq/results/*.txt
  (cd "$work/bullmq" && START=1 bash run-all.sh off bullmq 1 --only tree --work-ms "$WORK_MS" \
    "${BULL_ARGS[@]+"${BULL_ARGS[@]}"}")
  sed -e "/^bullmq tree /s/\$/ work_ms=$WORK_MS/" "$work"/bullmq/results/off-bullmq-run1.txt >> "$OUT/bullmq.txt"
  if [ "$RUN_DURABLE" = 1 ]; then
    # the durable counterpart: Redis with AOF, fsync every second (BullMQ's usual production setting); its lines
    # say aof=on-everysec, and Ratios pairs them with our journal=h2|postgres lines
    echo "# bullmq: bash run-all.sh aof bullmq $BULLMQ_RUNS --only throughput,tree ${BULL_ARGS[*]-} (durable counterpart)"
    rm -f "$work"/bullmq/results/*.txt
    (cd "$work/bullmq" && bash run-all.sh aof bullmq "$BULLMQ_RUNS" --only throughput,tree \
      "${BULL_ARGS[@]+"${BULL_ARGS[@]}"}")
    cat "$work"/bullmq/results/aof-bullmq-run*.txt >> "$OUT/bullmq.txt"
  fi
fi

# ------------------------------------------------------------------ ratios and targets
java -cp "$JAR" dev.pekkoprover.bench.Ratios "$OUT/ours.txt" "$OUT/bullmq.txt" | tee "$OUT/ratios.txt"
echo "# results in $OUT"
exit "$ours_status"  # 1 when a workload or the baseline failed
