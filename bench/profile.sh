#!/usr/bin/env bash
# Where ClawRouter's CPU time goes under load: samples `clawrouter serve`
# with perf (software cpu-clock, so it works without hardware counters)
# while loadgen keeps 64 OpenAI requests in flight against it, then writes
# self time by crate and inclusive time by request stage (profile_summary.py)
# to bench/profile-c<N>-<whole|stream>.txt. Stacks are unwound from DWARF with
# the largest stack copy perf allows, so deep async stacks reach their roots.
#
# The shipped release binary is stripped, so this builds a symbolized copy
# (same optimisation settings, symbols and line tables kept) in its own
# target dir, $BENCH_TARGET_DIR-profile, leaving the release tree alone.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
target="${BENCH_TARGET_DIR:-$repo/target}"
prof_target="$target-profile"
seconds="${PROFILE_SECONDS:-10}"
concurrency="${PROFILE_CONCURRENCY:-64}"
# PROFILE_STREAM=1: streamed 200-word replies instead of whole answers.
stream="${PROFILE_STREAM:-}"
mode="$([ -n "$stream" ] && echo stream || echo whole)"
out="${PROFILE_OUT:-$here/profile-c$concurrency-$mode.txt}"

command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }

CARGO_TARGET_DIR="$prof_target" CARGO_PROFILE_RELEASE_STRIP=false \
  CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release -p clawrouter --manifest-path "$repo/Cargo.toml"

work="$(mktemp -d -t clawrouter-profile-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$target/release/bedrock-double" --port 0 >"$work/double.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/double.out" && break; sleep 0.05; done
double_url="$(sed -n 's/^listening on //p' "$work/double.out")"
[ -n "$double_url" ] || { echo "bedrock-double did not start" >&2; exit 1; }

key=sk-bench-profile-0123456789
mkdir "$work/home"
env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME="$double_url" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
  CLAWROUTER_API_KEY="$key" CLAWROUTER_HOME="$work/home" CLAWROUTER_KEYCHAIN_SERVICE=clawrouter-bench \
  RUST_LOG=warn NO_PROXY=127.0.0.1 \
  "$prof_target/release/clawrouter" serve --port 0 >"$work/proxy.out" 2>"$work/proxy.err" &
proxy=$!
pids+=("$proxy")
for _ in $(seq 100); do grep -q listening "$work/proxy.out" && break; sleep 0.05; done
proxy_url="$(sed -n 's/^listening on //p' "$work/proxy.out")"
[ -n "$proxy_url" ] || { echo "clawrouter did not start" >&2; cat "$work/proxy.err" >&2; exit 1; }

load() {
  "$target/release/loadgen" --target openai --url "$proxy_url" --key "$key" \
    --model bedrock/claude-haiku-4-5 --concurrency "$concurrency" --warmup 0 \
    ${stream:+--stream --max-tokens 1024 --prompt "Tell a long story. [[double:long=200]]"} "$@"
}
load --requests 2000 --seconds 5 >/dev/null # warm
conns_before="$(ss -Htn state time-wait "( dport = :${double_url##*:} )" | wc -l)"
perf record -F 499 --call-graph dwarf,${PROFILE_STACK:-65528} -o "$work/perf.data" -p "$proxy" -- sleep "$seconds" 2>"$work/perf.err" &
perf_pid=$!
pids+=("$perf_pid")
sleep 0.5
summary="$(load --requests 10000000 --seconds "$((seconds - 1))")"
wait "$perf_pid"

{
  echo "# perf profile of clawrouter serve, $concurrency OpenAI requests in flight ($mode answers)"
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short=12 HEAD), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# loadgen: $(echo "$summary" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["requests"], "requests,", round(d["rps"]), "req/s, p50", round(d["latency_us"]["p50"]), "us")')"
  echo "# connections to the double closed during the run (TIME-WAIT): $(( $(ss -Htn state time-wait "( dport = :${double_url##*:} )" | wc -l) - conns_before ))"
  echo
  perf script -i "$work/perf.data" 2>/dev/null | python3 "$here/profile_summary.py"
} >"$out"
echo "wrote $out" >&2
