#!/usr/bin/env bash
# Where ClawRouter's CPU time goes under load: samples `clawrouter serve`
# with perf (software cpu-clock, so it works without hardware counters)
# while loadgen keeps 64 OpenAI requests in flight against it, then writes
# the top symbols, by shared object and by function, to bench/profile.txt.
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
out="$here/profile.txt"

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
    --model bedrock/claude-haiku-4-5 --concurrency 64 --warmup 0 "$@"
}
load --requests 2000 --seconds 5 >/dev/null # warm
perf record -F 999 -g -o "$work/perf.data" -p "$proxy" -- sleep "$seconds" 2>"$work/perf.err" &
perf_pid=$!
pids+=("$perf_pid")
sleep 0.5
summary="$(load --requests 10000000 --seconds "$((seconds - 1))")"
wait "$perf_pid"

{
  echo "# perf profile of clawrouter serve, 64 OpenAI requests in flight (non-streaming)"
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short=12 HEAD), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# loadgen: $(echo "$summary" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(f"{d["requests"]} requests, {d["rps"]:.0f} req/s, p50 {d["latency_us"]["p50"]:.0f} us")')"
  echo
  echo "## self time by shared object"
  perf report -i "$work/perf.data" --stdio --no-children --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
  echo
  echo "## self time by function (top 45)"
  perf report -i "$work/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -45
} >"$out"
echo "wrote $out" >&2
