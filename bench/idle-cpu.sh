#!/usr/bin/env bash
# What the desktop app costs while it sits hidden in the tray: starts it with
# --minimized (the login item's way: tray only, window never shown) inside
# Xvfb, a private D-Bus session and a throwaway keyring (as tests/e2e does),
# with the proxy running, waits until it listens, then reads the CPU time and
# context switches of the app and its WebKit helper processes before and
# after SECONDS of idling.
#
#   bench/idle-cpu.sh [APP_BINARY] [SECONDS]
#
# APP_BINARY defaults to $CARGO_TARGET_DIR/debug/clawrouter-desktop (build it
# with `npm --prefix ui run build && cargo build -p clawrouter-desktop`).
# A measurement, not a test: it prints figures and asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
app="$(realpath "${1:-$target/debug/clawrouter-desktop}")"
secs="${2:-60}"

if [ -z "${IDLE_CPU_INSIDE:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1400x1000x24" \
    scripts/with-keyring env NO_AT_BRIDGE=1 IDLE_CPU_INSIDE=1 "$0" "$app" "$secs"
fi

home="$(mktemp -d "${TMPDIR:-/tmp}/clawrouter-idle.XXXXXX")"
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT

# A free port, the proxy started at launch, no AWS account: discovery and
# model calls go to a closed loopback port and fail at once, off the timer.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf '{"port": %s, "region": "us-east-1", "start_proxy_on_launch": true}\n' "$port" > "$home/settings.json"
CLAWROUTER_HOME="$home" CLAWROUTER_KEYCHAIN_SERVICE="clawrouter-idle-bench" \
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:9" AWS_ENDPOINT_URL_BEDROCK="http://127.0.0.1:9" \
  AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
  "$app" --minimized > "$home/app.log" 2>&1 &
app_pid=$!

# Started: the proxy answers its liveliness probe (bounded wait).
for _ in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health/liveliness" 2>/dev/null && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$home/app.log" >&2; echo "the app exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/health/liveliness" || { echo "the proxy did not start" >&2; exit 1; }
# Let start-up work (the webview loading, discovery failing) finish first.
sleep 10

# The app and every process it started (WebKit's web and network processes):
# CPU time and context switches of each, before and after idling.
python3 - "$app_pid" "$secs" <<'EOF'
import os, sys, time

root, secs = int(sys.argv[1]), int(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")


def tree(pid):
    pids, i = [pid], 0
    while i < len(pids):
        try:
            tasks = os.listdir(f"/proc/{pids[i]}/task")
        except OSError:
            tasks = []
        for task in tasks:
            try:
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
            except OSError:
                pass
        i += 1
    return pids


def sample():
    """pid -> (name, CPU ticks, {thread id: context switches})."""
    out = {}
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                # utime and stime (fields 14 and 15, counted after the ")" that ends the
                # name) include the process's threads that have ended.
                rest = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
            switches = {}
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    lines = f.read().splitlines()
                thread = lines[0].split(maxsplit=1)[1] if lines else "?"
                switches[(task, thread)] = sum(int(l.split()[1]) for l in lines if "ctxt_switches" in l)
        except OSError:
            continue  # the process ended between listing and reading
        out[pid] = (name, int(rest[11]) + int(rest[12]), switches)
    return out


before = sample()
time.sleep(secs)
after = sample()
print(f"idle {secs} s, window hidden, proxy running; {len(after)} processes:")
print(f"  {'process':<28} {'CPU s':>7} {'of a core':>10} {'wake-ups':>9} {'per s':>7}")
total_cpu = total_sw = 0
for pid, (name, ticks, switches) in sorted(after.items()):
    t0, s0 = before.get(pid, (name, 0, {}))[1:]
    # Per thread: a thread that ended meanwhile takes its count with it.
    cpu, sw = (ticks - t0) / hz, sum(n - s0.get(tid, 0) for tid, n in switches.items())
    total_cpu, total_sw = total_cpu + cpu, total_sw + sw
    print(f"  {name + ' (' + str(pid) + ')':<28} {cpu:>7.2f} {100 * cpu / secs:>9.2f}% {sw:>9} {sw / secs:>7.1f}")
print(f"  {'all':<28} {total_cpu:>7.2f} {100 * total_cpu / secs:>9.2f}% {total_sw:>9} {total_sw / secs:>7.1f}")
# Which threads wake: names say whose timer it is (tokio-runtime-w, gmain, ...).
threads = {}
for pid, (name, _, switches) in after.items():
    s0 = before.get(pid, (name, 0, {}))[2]
    for (tid, thread), n in switches.items():
        threads[f"{name}/{thread}"] = threads.get(f"{name}/{thread}", 0) + n - s0.get((tid, thread), 0)
busiest = sorted(((n, t) for t, n in threads.items() if n), reverse=True)[:8]
print("  threads that woke most: " + ", ".join(f"{t} {n}" for n, t in busiest))
EOF
