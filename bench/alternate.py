"""Before and after, alternated: runs bench/run.py on two builds in turn
(and any `--also` builds, such as an experiment), round after round, and
writes the medians (and ranges) of ClawRouter's chat-completions figures to
a markdown table. Each bin dir's own bedrock-double is used: to compare the
proxies alone, put the same double in every bin dir.

Why: on a shared 2-vCPU machine one run's added latency moves by tens of
microseconds with the machine's state (the direct call to the double moves
with it), which is as large as the differences worth knowing about. Runs
taken in turn see the same states, and medians over rounds settle.

    bench/.venv/bin/python bench/alternate.py --before /tmp/before-target/release \\
        --after target/release --loadgen target/release/loadgen --rounds 5 \\
        --before-commit 1acdf2c --after-commit "$(git rev-parse --short HEAD)" \\
        --out bench/alternated.md
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent

# (key in results.json's derived figures, label, unit, better when higher)
FIGURES = [
    ("added_c1_p50_us", "**added** latency p50, 1 in flight", "µs", False),
    ("added_c1_p99_us", "**added** latency p99, 1 in flight", "µs", False),
    ("rps_c64", "**throughput**, 64 in flight", "req/s", True),
    ("cpu_us_per_request_c64", "proxy CPU per request, 64 in flight", "µs", False),
    ("added_c64_p99_us", "**added** latency p99, 64 in flight", "µs", False),
    ("added_ttft_p50_us", "**added** time to first token p50, stream", "µs", False),
    ("added_per_chunk_p50_us", "**added** per chunk p50, stream", "µs", False),
]


def run_once(bin_dir, loadgen, venv, commit, out):
    subprocess.run(
        [
            sys.executable, str(HERE / "run.py"), "--bin-dir", str(bin_dir), "--loadgen", str(loadgen),
            "--venv", str(venv), "--skip-litellm", "--skip-responses", "--startups", "1",
            "--commit", commit, "--out", str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads((out / "results.json").read_text())["derived"]["clawrouter"]


def fmt(value, unit):
    return f"{value:,.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=pathlib.Path, required=True, help="bin dir of the earlier build")
    ap.add_argument("--after", type=pathlib.Path, required=True, help="bin dir of the later build")
    ap.add_argument("--before-commit", required=True)
    ap.add_argument("--after-commit", required=True)
    ap.add_argument("--loadgen", type=pathlib.Path, required=True)
    ap.add_argument("--venv", type=pathlib.Path, default=HERE / ".venv")
    ap.add_argument("--also", action="append", default=[], metavar="COMMIT=BIN_DIR",
                    help="another build to run in each round after the two (repeatable), e.g. an experiment")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "alternated.md")
    opts = ap.parse_args()

    builds = [("before", opts.before, opts.before_commit), ("after", opts.after, opts.after_commit)]
    for also in opts.also:
        commit, _, bin_dir = also.partition("=")
        if not commit or not bin_dir or commit in ("before", "after"):
            ap.error(f"--also wants COMMIT=BIN_DIR with a commit other than before/after, not {also!r}")
        builds.append((commit, pathlib.Path(bin_dir), commit))
    runs = {side: [] for side, _, _ in builds}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as work:
        for n in range(opts.rounds):
            for side, bin_dir, commit in builds:
                figures = run_once(bin_dir, opts.loadgen, opts.venv, commit, pathlib.Path(work) / f"{side}-{n}")
                runs[side].append(figures)
                print(f"round {n + 1}/{opts.rounds} {side}: added p50 c1 {figures['added_c1_p50_us']:.0f} µs",
                      file=sys.stderr)

    order = " then ".join(f"`{commit}`" for _, _, commit in builds)
    extra = [side for side, _, _ in builds[2:]]
    lines = [
        "# Before and after, alternated",
        "",
        f"`bench/alternate.py`: {opts.rounds} rounds of `bench/run.py --skip-litellm --skip-responses` on "
        f"{order} (chat completions), started {started} on "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs. "
        "Median of the rounds, with the lowest and highest run in brackets.",
        "",
        f"| | before (`{opts.before_commit}`) | after (`{opts.after_commit}`) | after − before (medians) |"
        + "".join(f" `{side}` | `{side}` − before |" for side in extra),
        "|---|---|---|---|" + "---|---|" * len(extra),
    ]
    for key, label, unit, _ in FIGURES:
        # Each build's median (range), then for every build after the first
        # its difference from `before`, the columns the header names.
        row = []
        for side, _, _ in builds:
            values = [r[key] for r in runs[side] if r.get(key) is not None]
            median = statistics.median(values)
            row.append(f"{fmt(median, unit)} ({fmt(min(values), unit)} – {fmt(max(values), unit)})")
            if side == "before":
                before = median
            else:
                row.append(f"{median - before:+,.1f} {unit}")
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    opts.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
