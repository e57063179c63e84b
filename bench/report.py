"""Turns bench/run.py's measurements into figures: derived comparisons,
the results.md tables and latency.png. Pure functions of the results dict."""

import json
import math
import pathlib

# The goals the run is judged against (issue 8).
GOAL_ADDED_P99_US = 100.0
GOAL_THROUGHPUT_VS_LITELLM = 20.0
GOAL_IDLE_RSS_MB = 20.0

# "clawrouter_responses" is the same ClawRouter binary called through /v1/responses.
PROXIES = ("clawrouter", "clawrouter_responses", "litellm")
LABELS = {"direct": "direct to the double", "clawrouter": "ClawRouter (chat completions)",
          "clawrouter_responses": "ClawRouter (/v1/responses)", "litellm": "LiteLLM"}


def criterion_medians(criterion_dir: pathlib.Path) -> dict:
    """Median (ns) of each benchmark in the `translate` group."""
    found = []
    for bench in pathlib.Path(criterion_dir).glob("translate/*/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        found.append((meta["function_id"], estimates["median"]["point_estimate"]))
    # OpenAI route first, then SSE, then the Anthropic route.
    order = ("openai", "StreamTranslator", "sse", "anthropic", "StreamRelay")
    found.sort(key=lambda f: (next((i for i, p in enumerate(order) if f[0].startswith(p)), 9), f[0]))
    return dict(found)


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d


def _sub(a, b):
    return None if a is None or b is None else a - b


def _div(a, b):
    return None if a is None or not b else a / b


def _median(xs):
    xs = sorted(xs or [])
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def derive(results: dict) -> dict:
    """Added latency (proxy minus direct, percentile by percentile), ratios, goals."""
    systems = results["systems"]
    base = systems.get("direct", {}).get("scenarios", {})
    out = {}
    for name in PROXIES:
        s = systems.get(name)
        if not s:
            continue
        sc = s["scenarios"]
        d = {}
        for c in ("c1", "c64"):
            for p in ("p50", "p99"):
                d[f"added_{c}_{p}_us"] = _sub(_get(sc, c, "latency_us", p), _get(base, c, "latency_us", p))
                d[f"ratio_{c}_{p}_vs_direct"] = _div(_get(sc, c, "latency_us", p), _get(base, c, "latency_us", p))
        for p in ("p50", "p99"):
            d[f"added_ttft_{p}_us"] = _sub(_get(sc, "stream", "ttft_us", p), _get(base, "stream", "ttft_us", p))
            d[f"added_per_chunk_{p}_us"] = _sub(_get(sc, "stream", "per_chunk_us", p),
                                                _get(base, "stream", "per_chunk_us", p))
        d["rps_c64"] = _get(sc, "c64", "rps")
        d["rps_vs_direct"] = _div(d["rps_c64"], _get(base, "c64", "rps"))
        d["rss_idle_mb"] = _div(s.get("rss_idle_kb"), 1024)
        d["rss_peak_mb"] = _div(max((_get(sc, c, "rss_peak_kb") or 0) for c in sc) or None, 1024)
        d["startup_median_ms"] = _median(s.get("startup_ms"))
        d["cpu_us_per_request_c64"] = _get(sc, "c64", "proxy_cpu_us_per_request")
        out[name] = d
    cr, ll = out.get("clawrouter"), out.get("litellm")
    if cr and ll:
        out["clawrouter_vs_litellm"] = {
            "throughput_x": _div(cr["rps_c64"], ll["rps_c64"]),
            "added_c1_p99_x": _div(ll["added_c1_p99_us"], cr["added_c1_p99_us"]),
            "idle_rss_x": _div(ll["rss_idle_mb"], cr["rss_idle_mb"]),
            "startup_x": _div(ll["startup_median_ms"], cr["startup_median_ms"]),
            "cpu_per_request_x": _div(ll["cpu_us_per_request_c64"], cr["cpu_us_per_request_c64"]),
        }
    if cr:
        out["goals"] = {
            "added_c1_p99_under_100us": _cmp(cr["added_c1_p99_us"], GOAL_ADDED_P99_US, lower=True),
            "throughput_20x_litellm": _cmp(_get(out, "clawrouter_vs_litellm", "throughput_x"),
                                           GOAL_THROUGHPUT_VS_LITELLM, lower=False),
            "idle_rss_under_20mb": _cmp(cr["rss_idle_mb"], GOAL_IDLE_RSS_MB, lower=True),
        }
    return out


def _cmp(value, goal, lower):
    if value is None:
        return None
    return value < goal if lower else value >= goal


# ---------------------------------------------------------------- markdown


def _f(v, unit="", digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}{unit}"


def _us(v):
    """Microseconds, shown as ms from 10 ms up."""
    if v is None:
        return "–"
    return f"{v / 1000:,.1f} ms" if abs(v) >= 10_000 else f"{v:,.0f} µs"


def _x(v):
    return "–" if v is None else f"{v:,.1f}×"


def _goal(v):
    return {True: "**met**", False: "**not met**", None: "not measured"}[v]


def markdown(r: dict) -> str:
    m, sy, dv = r["machine"], r["systems"], r["derived"]
    cr, ll = dv.get("clawrouter", {}), dv.get("litellm", {})
    vs = dv.get("clawrouter_vs_litellm", {})
    goals = dv.get("goals", {})
    names = [n for n in ("direct", *PROXIES) if n in sy]
    busy = max(r["load_before"][0], r["load_after"][0]) > 1.5
    L = []
    L.append("# Benchmark results: ClawRouter vs LiteLLM vs direct calls\n")
    L.append("Generated by `make bench` (bench/run.py); how it measures: [README.md](README.md).")
    if r.get("quick"):
        L.append("\n**Quick run (small counts): checks the harness; do not quote these figures.**")
    L.append("")
    L.append("| machine | |")
    L.append("|---|---|")
    L.append(f"| CPUs (`nproc`) | {m['nproc']} × {m['cpu']} |")
    L.append(f"| memory | {m['memory_gib']} GiB |")
    L.append(f"| kernel | {m['kernel']} |")
    L.append(f"| rustc | {m['rustc']} |")
    L.append(f"| ClawRouter commit | `{m['clawrouter_commit']}`{' (+ uncommitted changes)' if m['clawrouter_dirty'] else ''} |")
    L.append(f"| LiteLLM | {m.get('litellm', 'not run')} (Python {m['python']}, default: 1 uvicorn worker) |")
    L.append(f"| date | {m['date']} |")
    la = ", ".join(f"{x:.2f}" for x in r["load_before"])
    lb = ", ".join(f"{x:.2f}" for x in r["load_after"])
    L.append(f"| load average (1/5/15 min) | before {la}; after {lb}"
             f"{' — **the machine was busy** (other builds ran in parallel); absolute figures are pessimistic' if busy else ''} |")
    L.append("")
    L.append("Everything (load generator, bedrock double, proxy) shares these cores over loopback; "
             "the proxies call the same release-build bedrock double.\n")

    L.append("## Goals\n")
    L.append("| goal | measured | |")
    L.append("|---|---|---|")
    L.append(f"| ClawRouter adds < 100 µs p99 at 1 in flight | {_us(cr.get('added_c1_p99_us'))} | {_goal(goals.get('added_c1_p99_under_100us'))} |")
    L.append(f"| ≥ 20× LiteLLM's throughput (64 in flight) | {_x(vs.get('throughput_x'))} | {_goal(goals.get('throughput_20x_litellm'))} |")
    L.append(f"| idles under 20 MB RSS headless | {_f(cr.get('rss_idle_mb'), ' MB', 1)} | {_goal(goals.get('idle_rss_under_20mb'))} |")
    L.append("")

    def row(label, f, fmt):
        cells = [fmt(f(n)) for n in names]
        return f"| {label} | " + " | ".join(cells) + " |"

    def sc(n, s, *path):
        return _get(sy[n], "scenarios", s, *path)

    L.append("## Side by side\n")
    L.append("Added = the proxy's figure minus the direct call's at the same percentile and concurrency.\n")
    L.append("| | " + " | ".join(LABELS[n] for n in names) + " | LiteLLM ÷ ClawRouter |")
    L.append("|---|" + "---|" * len(names) + "---|")

    def add(label, f, fmt, ratio=None):
        L.append(row(label, f, fmt)[:-1] + f"| {ratio if ratio is not None else ''} |")

    def ratio(a, b):
        # A negative "added" figure is noise around zero; a ratio of it means nothing.
        return _x(_div(a, b)) if a is not None and b is not None and a > 0 and b > 0 else "–"

    for c, label in (("c1", "1 in flight"), ("c64", "64 in flight")):
        for p in ("p50", "p99"):
            add(f"latency {p}, {label}", lambda n: sc(n, c, "latency_us", p), _us)
            if names[1:]:
                add(f"**added** {p}, {label}",
                    lambda n: None if n == "direct" else dv[n][f"added_{c}_{p}_us"], _us,
                    ratio(ll.get(f"added_{c}_{p}_us"), cr.get(f"added_{c}_{p}_us")))
    add("**throughput**, 64 in flight (req/s)", lambda n: sc(n, "c64", "rps"), lambda v: _f(v),
        ratio(cr.get("rps_c64"), ll.get("rps_c64")).replace("×", "× (ClawRouter ÷ LiteLLM)") if ll else "")
    add("throughput vs direct", lambda n: 1.0 if n == "direct" else dv[n]["rps_vs_direct"], _x)
    add("proxy CPU per request, 64 in flight", lambda n: sc(n, "c64", "proxy_cpu_us_per_request"), _us,
        ratio(ll.get("cpu_us_per_request_c64"), cr.get("cpu_us_per_request_c64")))
    add("double CPU per request, 64 in flight", lambda n: sc(n, "c64", "double_cpu_us_per_request"), _us)
    for p in ("p50", "p99"):
        add(f"stream: time to first token {p}", lambda n: sc(n, "stream", "ttft_us", p), _us)
        if names[1:]:
            add(f"**added** time to first token {p}",
                lambda n: None if n == "direct" else dv[n][f"added_ttft_{p}_us"], _us,
                ratio(ll.get(f"added_ttft_{p}_us"), cr.get(f"added_ttft_{p}_us")))
    add("stream: time per chunk p50", lambda n: sc(n, "stream", "per_chunk_us", "p50"), lambda v: _f(v, " µs", 1))
    if names[1:]:
        add("**added** per chunk p50", lambda n: None if n == "direct" else dv[n]["added_per_chunk_p50_us"],
            lambda v: _f(v, " µs", 1), ratio(ll.get("added_per_chunk_p50_us"), cr.get("added_per_chunk_p50_us")))
    add("stream: text chunks per reply", lambda n: sc(n, "stream", "content_events_mean"), lambda v: _f(v, "", 0))
    add("stream: whole reply p50", lambda n: sc(n, "stream", "latency_us", "p50"), _us)
    add("**RSS idle** (after start-up)", lambda n: _div(sy[n].get("rss_idle_kb"), 1024),
        lambda v: _f(v, " MB", 1), ratio(ll.get("rss_idle_mb"), cr.get("rss_idle_mb")))
    add("of which anonymous (heap, stacks; RssAnon)", lambda n: _div(sy[n].get("rss_idle_anon_kb"), 1024),
        lambda v: _f(v, " MB", 1))
    add("RSS peak under load", lambda n: None if n == "direct" else dv[n]["rss_peak_mb"],
        lambda v: _f(v, " MB", 1), ratio(ll.get("rss_peak_mb"), cr.get("rss_peak_mb")))
    add("RSS idle after load", lambda n: _div(sy[n].get("rss_after_load_kb"), 1024), lambda v: _f(v, " MB", 1))
    add("processes", lambda n: sy[n].get("processes"), lambda v: _f(v))
    add("**start-up** to first 200, median of "
        f"{len(sy.get('clawrouter', {}).get('startup_ms', []))}",
        lambda n: None if n == "direct" else dv[n]["startup_median_ms"], lambda v: _f(v, " ms", 1),
        ratio(ll.get("startup_median_ms"), cr.get("startup_median_ms")))
    add("start-up, each run", lambda n: None if n == "direct" else sy[n].get("startup_ms"),
        lambda v: "–" if not v else ", ".join(f"{x:.0f}" for x in v) + " ms")
    errs = {n: sum(s.get("errors", 0) for s in sy[n]["scenarios"].values()) for n in names}
    add("failed requests (all scenarios)", lambda n: errs[n], lambda v: _f(v))
    L.append("")
    L.append("Counts per scenario (measured requests after warm-up):")
    for n in names:
        parts = [f"{s} {v['requests']:,} in {v['elapsed_s']:.1f} s" for s, v in sy[n]["scenarios"].items()]
        L.append(f"- {LABELS[n]}: " + "; ".join(parts))
    L.append("")
    crit = r.get("criterion") or {}
    if crit:
        L.append("## Micro-benchmarks (criterion, median)\n")
        L.append("`cargo bench -p clawrouter --bench translate -- --warm-up-time 1 --measurement-time 3`\n")
        L.append("| function | median |")
        L.append("|---|---|")
        for k, v in crit.items():
            L.append(f"| `{k}` | {v / 1000:,.2f} µs |" if v >= 1000 else f"| `{k}` | {v:,.0f} ns |")
        L.append("")
    if r.get("baseline"):
        L += _before_after(r)
    L.append("![latency percentiles](latency.png)\n")
    return "\n".join(L)


def baseline(earlier: dict) -> dict:
    """What a before/after table needs from an earlier run's results.json."""
    return {
        "machine": earlier["machine"],
        "load": [earlier["load_before"][0], earlier["load_after"][0]],
        "direct": earlier["systems"]["direct"],
        "clawrouter": earlier["systems"]["clawrouter"],
        "derived": earlier["derived"]["clawrouter"],
    }


def _before_after(r: dict) -> list[str]:
    """ClawRouter's chat-completions figures in an earlier run next to this run's,
    with this run's /v1/responses figures beside them."""
    b, sy, dv = r["baseline"], r["systems"], r["derived"]
    columns = [  # (label, system results, derived, direct results)
        (f"before (`{b['machine']['clawrouter_commit']}`), chat completions", b["clawrouter"], b["derived"],
         b["direct"]),
        (f"after (`{r['machine']['clawrouter_commit']}`), chat completions", sy["clawrouter"], dv["clawrouter"],
         sy["direct"]),
    ]
    if "clawrouter_responses" in sy:
        columns.append(("after, `/v1/responses`", sy["clawrouter_responses"], dv["clawrouter_responses"],
                        sy["direct"]))
    rows = [
        ("**added** latency p50, 1 in flight", lambda s, d, x: d["added_c1_p50_us"], _us),
        ("**added** latency p99, 1 in flight", lambda s, d, x: d["added_c1_p99_us"], _us),
        ("throughput, 1 in flight (req/s)", lambda s, d, x: _get(s, "scenarios", "c1", "rps"), _f),
        ("proxy CPU per request, 1 in flight", lambda s, d, x: _get(s, "scenarios", "c1", "proxy_cpu_us_per_request"), _us),
        ("**added** latency p50, 64 in flight", lambda s, d, x: d["added_c64_p50_us"], _us),
        ("**added** latency p99, 64 in flight", lambda s, d, x: d["added_c64_p99_us"], _us),
        ("**throughput**, 64 in flight (req/s)", lambda s, d, x: d["rps_c64"], _f),
        ("direct to the double in the same run, 64 in flight (req/s)",
         lambda s, d, x: _get(x, "scenarios", "c64", "rps"), _f),
        ("proxy CPU per request, 64 in flight", lambda s, d, x: d["cpu_us_per_request_c64"], _us),
        ("**added** time to first token p50, stream", lambda s, d, x: d["added_ttft_p50_us"], _us),
        ("**added** time to first token p99, stream", lambda s, d, x: d["added_ttft_p99_us"], _us),
        ("**added** per chunk p50, stream", lambda s, d, x: d["added_per_chunk_p50_us"], lambda v: _f(v, " µs", 1)),
        ("proxy CPU per streamed request",
         lambda s, d, x: _get(s, "scenarios", "stream", "proxy_cpu_us_per_request"), _us),
        ("RSS idle", lambda s, d, x: d["rss_idle_mb"], lambda v: _f(v, " MB", 1)),
        ("RSS peak under load", lambda s, d, x: d["rss_peak_mb"], lambda v: _f(v, " MB", 1)),
        ("failed requests (all scenarios)",
         lambda s, d, x: sum(v.get("errors", 0) for v in s["scenarios"].values()), _f),
    ]
    L = ["## Before and after\n",
         f"The earlier run is `{b['machine']['clawrouter_commit']}` measured on {b['machine']['date']} "
         f"(load average {b['load'][0]:.2f} at its start, {b['load'][1]:.2f} at its end). "
         "Added = ClawRouter's figure minus the direct call's in the same run, so a slower or faster "
         "machine state between the runs cancels out of it; throughput and CPU do not cancel.\n",
         "| | " + " | ".join(c[0] for c in columns) + " |",
         "|---|" + "---|" * len(columns)]
    for label, f, fmt in rows:
        L.append(f"| {label} | " + " | ".join(fmt(f(s, d, x)) for _, s, d, x in columns) + " |")
    L.append("")
    return L


# ---------------------------------------------------------------- plot


def plot(r: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("c1", "latency_curve_us", "1 in flight"), ("c64", "latency_curve_us", "64 in flight"),
              ("stream", "ttft_curve_us", "stream, time to first token (1 in flight)")]
    colors = {"direct": "#7f7f7f", "clawrouter": "#d62728", "clawrouter_responses": "#ff9896",
              "litellm": "#1f77b4"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (sc, key, title) in zip(axes, panels):
        for n, s in r["systems"].items():
            curve = _get(s, "scenarios", sc, key)
            if not curve:
                continue
            pts = [(p, v) for p, v in curve if v is not None and 0 < p < 100]
            # x: "nines" (p50 → 0.3, p90 → 1, p99 → 2, p99.9 → 3)
            xs = [-math.log10(1 - p / 100) for p, _ in pts]
            ax.plot(xs, [v / 1000 for _, v in pts], marker="o", label=LABELS[n], color=colors.get(n))
        ticks = [10, 50, 90, 99, 99.9]
        ax.set_xticks([-math.log10(1 - t / 100) for t in ticks])
        ax.set_xticklabels([f"p{t:g}" for t in ticks])
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    m = r["machine"]
    fig.suptitle(f"Latency percentiles over loopback, same bedrock double — {m['nproc']} × {m['cpu']}, "
                 f"ClawRouter {m['clawrouter_commit']}, LiteLLM {m.get('litellm', '–')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
