#!/usr/bin/env python3
"""Benchmarks ClawRouter against LiteLLM's proxy and against calling the
bedrock double directly, on this machine, in one run.

Every system talks to the same bedrock double (release build). For each one:
latency at 1 and 64 requests in flight, throughput at 64 in flight, a long
streamed reply (time to first token, time per chunk), memory (idle and under
load), CPU time per request, and start-up time (spawn -> first 200 on
/health/liveliness, repeated). ClawRouter is measured twice: through
/v1/chat/completions and through /v1/responses (Codex's API). Results: results.json, results.md and
latency.png in --out. See bench/README.md.

Everything started here is stopped at the end, also on failure or Ctrl-C:
each child runs in its own process group, which is signalled by its id.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent

# bedrock_double::TEST_ACCESS_KEY_ID / TEST_SECRET_ACCESS_KEY.
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PROFILE_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# The same model through each proxy: ClawRouter's catalog name, and the
# name LiteLLM's config below gives it.
MODEL = "bedrock/claude-haiku-4-5"
CLAWROUTER_KEY = "sk-bench-clawrouter-0123456789"
LITELLM_KEY = "sk-bench-litellm-0123456789"
LONG_PROMPT = "Tell a long story. [[double:long=200]]"

# Loopback traffic must never go through a proxy from the environment.
BASE_ENV = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    BASE_ENV.pop(var, None)

STARTED: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


def spawn(args, env=None, stdout=subprocess.DEVNULL, stderr=None) -> subprocess.Popen:
    proc = subprocess.Popen(args, env=env or BASE_ENV, stdout=stdout, stderr=stderr,
                            start_new_session=True, text=True)
    STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM to the child's own process group (its workers too), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all(*_):
    for proc in list(STARTED):
        stop(proc, timeout=5)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_live(port: int, proc: subprocess.Popen, limit_s: float) -> float:
    """Polls GET /health/liveliness until a 200; returns seconds waited."""
    started = time.perf_counter()
    # The proxy refuses a Host that does not name the port it listens on (DNS rebinding).
    request = f"GET /health/liveliness HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    while time.perf_counter() - started < limit_s:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"no 200 from 127.0.0.1:{port}/health/liveliness within {limit_s}s")


def tree(pid: int) -> list[int]:
    """pid and all its descendants (LiteLLM may run worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/PID/status memory field summed over the tree: VmRSS, or
    RssAnon (heap and stacks, without the mapped binary and libraries)."""
    total = 0
    for p in tree(pid):
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process tree."""
    total = 0
    for p in tree(pid):
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLK_TCK


class RssSampler:
    """Peak RSS of a process tree while a scenario runs (every 100 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- systems


class System:
    """A proxy (or the double itself, for the baseline) under test."""

    name: str
    target: str  # loadgen --target
    key: str = ""
    model: str = MODEL

    def __init__(self, double_url: str, workdir: pathlib.Path):
        self.double_url, self.workdir = double_url, workdir
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, port: int) -> tuple[list[str], dict]:
        raise NotImplementedError

    def start(self, limit_s: float) -> float:
        """Starts it on a free port; returns seconds from spawn to first 200."""
        self.port = free_port()
        args, env = self.command(self.port)
        log_file = open(self.workdir / f"{self.name}.log", "a")
        t0 = time.perf_counter()
        self.proc = spawn(args, env=env, stdout=log_file, stderr=log_file)
        wait_live(self.port, self.proc, limit_s)
        return time.perf_counter() - t0

    def stop(self):
        if self.proc:
            stop(self.proc)
            self.proc = None


class ClawRouter(System):
    name, target, key = "clawrouter", "openai", CLAWROUTER_KEY

    def __init__(self, double_url, workdir, binary):
        super().__init__(double_url, workdir)
        self.binary = binary
        self.home = workdir / "clawrouter-home"
        self.home.mkdir(exist_ok=True)

    def command(self, port):
        env = {
            **BASE_ENV,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.double_url,
            # Start-up discovery (ListInferenceProfiles) goes to the double too, never to AWS.
            "AWS_ENDPOINT_URL_BEDROCK": self.double_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": "us-east-1",
            "CLAWROUTER_API_KEY": CLAWROUTER_KEY,
            "CLAWROUTER_HOME": str(self.home),
            "CLAWROUTER_KEYCHAIN_SERVICE": "clawrouter-bench",
            "RUST_LOG": "warn",
        }
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(var, None)
        return [str(self.binary), "serve", "--port", str(port)], env


class ClawRouterResponses(ClawRouter):
    """The same proxy, called as Codex calls it: OpenAI Responses (`POST /v1/responses`)."""
    name, target = "clawrouter_responses", "responses"


class LiteLLM(System):
    name, target, key = "litellm", "openai", LITELLM_KEY

    def __init__(self, double_url, workdir, venv):
        super().__init__(double_url, workdir)
        self.venv = venv
        self.config = workdir / "litellm.yaml"
        # JSON is valid YAML; no YAML writer needed.
        self.config.write_text(json.dumps({
            "model_list": [{
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"bedrock/converse/{PROFILE_ID}",
                    "aws_access_key_id": ACCESS_KEY_ID,
                    "aws_secret_access_key": SECRET_ACCESS_KEY,
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": double_url,
                },
            }],
            "general_settings": {"master_key": LITELLM_KEY},
        }, indent=2))

    def command(self, port):
        env = {
            **BASE_ENV,
            # Loopback only: use the bundled model price map instead of fetching it.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "WARNING",
        }
        args = [str(self.venv / "bin" / "litellm"), "--config", str(self.config),
                "--host", "127.0.0.1", "--port", str(port), "--telemetry", "False"]
        return args, env

    def version(self) -> str:
        out = subprocess.run([str(self.venv / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "unknown"


# ---------------------------------------------------------------- scenarios


def scenarios(quick: bool) -> list[dict]:
    """name, concurrency, stream, requests, seconds, warmup (bounded twice: count and time)."""
    scale = 0.05 if quick else 1.0
    secs = 2.0 if quick else 8.0
    return [
        {"name": "c1", "concurrency": 1, "stream": False, "requests": int(20000 * scale), "seconds": secs, "warmup": 200},
        {"name": "c64", "concurrency": 64, "stream": False, "requests": int(200000 * scale), "seconds": secs, "warmup": 640},
        {"name": "stream", "concurrency": 1, "stream": True, "requests": int(5000 * scale), "seconds": secs, "warmup": 50},
    ]


def run_loadgen(loadgen, system: System, sc: dict) -> dict:
    args = [str(loadgen), "--target", system.target, "--url", system.url, "--key", system.key,
            "--model", system.model, "--concurrency", str(sc["concurrency"]),
            "--requests", str(sc["requests"]), "--seconds", str(sc["seconds"]),
            "--warmup", str(sc["warmup"]), "--max-tokens", "1024"]
    if sc["stream"]:
        args += ["--stream", "--prompt", LONG_PROMPT]
    # Warm-up and measured phase are each bounded by "seconds"; a margin for the rest.
    out = subprocess.run(args, capture_output=True, text=True, timeout=2 * sc["seconds"] + 60,
                         env=BASE_ENV)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed on {system.name}/{sc['name']}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def measure(system: System, loadgen, quick: bool, double_pid: int) -> dict:
    """All scenarios against a running system; the proxy's pid gives memory and CPU."""
    pid = system.proc.pid if system.proc else None
    result: dict = {"scenarios": {}}
    if pid:
        time.sleep(2)  # let start-up work settle before calling it idle
        result["rss_idle_kb"] = rss_kb(pid)
        result["rss_idle_anon_kb"] = rss_kb(pid, "RssAnon")
        result["processes"] = len(tree(pid))
    for sc in scenarios(quick):
        log(f"{system.name}: {sc['name']} ({sc['concurrency']} in flight{', stream' if sc['stream'] else ''})")
        cpu0 = cpu_s(pid) if pid else 0.0
        dcpu0 = cpu_s(double_pid)
        with RssSampler(pid or double_pid) as rss:
            r = run_loadgen(loadgen, system, sc)
        done = max(r["requests"] + r["errors"], 1)
        warm = sc["warmup"]
        # CPU covers warm-up and measured requests alike.
        if pid:
            r["proxy_cpu_us_per_request"] = (cpu_s(pid) - cpu0) * 1e6 / (done + warm)
            r["rss_peak_kb"] = rss.peak
        r["double_cpu_us_per_request"] = (cpu_s(double_pid) - dcpu0) * 1e6 / (done + warm)
        result["scenarios"][sc["name"]] = r
        if r["errors"]:
            log(f"  {r['errors']} errors, first: {r['first_error']}")
    if pid:
        time.sleep(2)
        result["rss_after_load_kb"] = rss_kb(pid)
    return result


def startups(system: System, repeats: int, limit_s: float) -> list[float]:
    times = []
    for i in range(repeats):
        times.append(system.start(limit_s) * 1000)
        system.stop()
        log(f"{system.name}: start-up {i + 1}/{repeats}: {times[-1]:.0f} ms")
    return times


# ---------------------------------------------------------------- the run


def sh(args) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine(commit: str | None) -> dict:
    cpu = "unknown"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(pathlib.Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "rustc": sh(["rustc", "--version"]),
        "python": platform.python_version(),
        # The binaries' commit: this checkout's, unless --commit names the one they were built from.
        "clawrouter_commit": commit or sh(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"]),
        "clawrouter_dirty": not commit and bool(sh(["git", "-C", str(REPO), "status", "--porcelain", "--", "crates"])),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load_average() -> list[float]:
    return [float(x) for x in pathlib.Path("/proc/loadavg").read_text().split()[:3]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", type=pathlib.Path, required=True, help="holds release clawrouter, bedrock-double")
    ap.add_argument("--loadgen", type=pathlib.Path, required=True)
    ap.add_argument("--venv", type=pathlib.Path, default=HERE / ".venv")
    ap.add_argument("--out", type=pathlib.Path, default=HERE)
    ap.add_argument("--criterion-dir", type=pathlib.Path, help="target/criterion, for the micro-benchmark medians")
    ap.add_argument("--quick", action="store_true", help="small counts: checks the harness, not for results")
    ap.add_argument("--startups", type=int, default=5)
    ap.add_argument("--skip-litellm", action="store_true")
    ap.add_argument("--skip-responses", action="store_true",
                    help="ClawRouter through chat completions only (builds older than /v1/responses)")
    ap.add_argument("--commit", help="the commit --bin-dir's binaries were built from, when not this checkout")
    ap.add_argument("--baseline", type=pathlib.Path,
                    help="results.json of an earlier run (e.g. an older commit): adds a before/after table")
    opts = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return run(opts)
    finally:
        stop_all()


def run(opts) -> int:
    import report  # bench/report.py: tables and the plot

    results = {"machine": machine(opts.commit), "quick": opts.quick, "load_before": load_average(),
               "scenarios": scenarios(opts.quick), "systems": {}}
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="clawrouter-bench-"))
    log(f"work dir {workdir}; load average {results['load_before']}")

    double = spawn([str(opts.bin_dir / "bedrock-double"), "--port", "0"], stdout=subprocess.PIPE)
    line = double.stdout.readline()
    if not line.startswith("listening on "):
        raise RuntimeError(f"bedrock-double did not start: {line!r}")
    double_url = line.removeprefix("listening on ").strip()

    class Direct(System):
        name, target, model = "direct", "direct", PROFILE_ID

    direct = Direct(double_url, workdir)
    direct.port = int(double_url.rsplit(":", 1)[1])
    results["systems"]["direct"] = measure(direct, opts.loadgen, opts.quick, double.pid)
    results["systems"]["direct"]["rss_idle_kb_double"] = rss_kb(double.pid)

    systems: list[System] = [ClawRouter(double_url, workdir, opts.bin_dir / "clawrouter")]
    if not opts.skip_responses:
        systems.append(ClawRouterResponses(double_url, workdir, opts.bin_dir / "clawrouter"))
    if opts.skip_litellm or not (opts.venv / "bin" / "litellm").exists():
        log("LiteLLM skipped (no bench/.venv/bin/litellm)" if not opts.skip_litellm else "LiteLLM skipped")
    else:
        litellm = LiteLLM(double_url, workdir, opts.venv)
        results["machine"]["litellm"] = litellm.version()
        systems.append(litellm)

    for system in systems:
        limit = 120 if system.name == "litellm" else 30
        log(f"{system.name}: starting")
        first_start = system.start(limit) * 1000
        try:
            results["systems"][system.name] = measure(system, opts.loadgen, opts.quick, double.pid)
        finally:
            system.stop()
        results["systems"][system.name]["startup_first_ms"] = first_start
        # Same binary as "clawrouter": its start-up is measured once, there.
        repeats = 0 if system.name == ClawRouterResponses.name else opts.startups
        results["systems"][system.name]["startup_ms"] = startups(system, repeats, limit)

    results["load_after"] = load_average()
    results["criterion"] = report.criterion_medians(opts.criterion_dir) if opts.criterion_dir else {}
    results["derived"] = report.derive(results)
    if opts.baseline:
        results["baseline"] = report.baseline(json.loads(opts.baseline.read_text()))
    stop(double)

    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (opts.out / "results.md").write_text(report.markdown(results))
    report.plot(results, opts.out / "latency.png")
    log(f"wrote {opts.out}/results.md, results.json, latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
