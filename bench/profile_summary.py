#!/usr/bin/env python3
"""Summarises `perf script` output (stacks unwound with --call-graph dwarf)
of `clawrouter serve`: where the samples sit by crate (self time), and what
share of samples runs inside each stage of a request (inclusive time).

Usage: perf script -i perf.data | profile_summary.py
"""

import collections
import re
import sys

# Inclusive stages: a sample counts when any frame of its stack matches.
STAGES = [
    ("AWS SDK call to Bedrock (whole orchestrator)", r"aws_smithy_runtime::client::orchestrator"),
    ("  SigV4 signing", r"aws_sigv4::"),
    ("  SDK (de)serialization of Converse", r"aws_sdk_bedrockruntime::protocol_serde"),
    ("  SDK interceptors and runtime plugins", r"aws_smithy_runtime_api::client::(interceptors|runtime_plugin|runtime_components)"),
    ("  SDK endpoint resolution", r"endpoint_lib|resolve_endpoint|ResolveEndpoint"),
    ("  SDK HTTP client (hyper client side)", r"aws_smithy_http_client|hyper_util::client"),
    ("chat/completions handler (and what it polls inline)", r"clawrouter::server::openai_routes::chat_completions"),
    ("request JSON parse (OpenAI body)", r"clawrouter::server::dispatch::parse_json"),
    ("routing/plan", r"clawrouter::server::dispatch::plan|clawrouter::router::"),
    ("translation to Converse", r"clawrouter::openai::request::|clawrouter::openai::messages::|clawrouter::openai::tools::"),
    ("translation from Converse", r"clawrouter::openai::response::"),
    ("response JSON serialization (axum Json)", r"axum::json::.*into_response|serde_json::ser::to_vec|<axum::json::Json"),
    ("accounting (ticket, ledger send)", r"clawrouter::server::accounting::"),
    ("ledger thread (SQLite)", r"clawrouter::ledger::writer|rusqlite::|sqlite3"),
    ("health bookkeeping", r"clawrouter::health::"),
    ("tracing subscriber (filters, formatting)", r"tracing_subscriber::|tracing_core::"),
    ("kernel: socket send", r"__x64_sys_(sendto|sendmsg|write|writev)\b|tcp_sendmsg"),
    ("kernel: socket receive", r"__x64_sys_(recvfrom|recvmsg|read|readv)\b|tcp_recvmsg"),
    ("kernel: epoll / futex / scheduling", r"__x64_sys_(epoll_wait|epoll_pwait|epoll_ctl|futex|sched_yield)|schedule\b|finish_task_switch"),
    ("kernel: accept/connect/close", r"__x64_sys_(accept4?|connect|close|shutdown)\b"),
    ("malloc/free", r"^(malloc|free|_int_malloc|_int_free|realloc|_int_realloc|cfree|__libc_malloc|__libc_free|malloc_consolidate|unlink_chunk)"),
]


def crate_of(symbol: str, dso: str) -> str:
    if "kernel" in dso:
        return "[kernel]"
    if re.match(r"(malloc|free|_int_|realloc|cfree|__libc_malloc|__libc_free|unlink_chunk|malloc_consolidate)", symbol):
        return "[libc malloc/free]"
    if "memmove" in symbol or "memcpy" in symbol or "memset" in symbol or "memcmp" in symbol:
        return "[libc mem*]"
    if "libc" in dso:
        return "[libc other]"
    s = symbol.lstrip("<&*")
    s = re.sub(r"^(impl |dyn |mut |const )+", "", s)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", s)
    if m:
        return m.group(1)
    return "[unknown]" if symbol in ("[unknown]", "") else f"[{dso}]"


def short(symbol: str) -> str:
    """A symbol without generic arguments and closure suffixes, cut to 110 characters."""
    s = re.sub(r"::\{\{closure\}\}", "", symbol)
    return s[:110]


def samples(lines):
    header, stack = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if header is not None:
                yield header, stack
            header, stack = None, []
        elif not line.startswith((" ", "\t")):
            header = line
        else:
            parts = line.strip().split(" ", 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            m = re.match(r"(.*) \((.*)\)$", rest)
            sym, dso = (m.group(1), m.group(2)) if m else (rest, "")
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            stack.append((sym, dso))
    if header is not None:
        yield header, stack


def main():
    total = 0
    by_crate = collections.Counter()
    by_stage = collections.Counter()
    by_thread = collections.Counter()
    # For samples in the kernel: the user-space function that made the syscall.
    kernel_from = collections.Counter()
    compiled = [(name, re.compile(rx)) for name, rx in STAGES]
    for header, stack in samples(sys.stdin):
        if not stack:
            continue
        total += 1
        comm = header.split()[0]
        by_thread[comm] += 1
        by_crate[crate_of(*stack[0])] += 1
        if "kernel" in stack[0][1]:
            caller = next((f for f in stack if "kernel" not in f[1] and "libc" not in f[1]), None)
            kernel_from[short(caller[0]) if caller else "[no user frame]"] += 1
        for name, rx in compiled:
            if any(rx.search(sym) for sym, _ in stack):
                by_stage[name] += 1
    if not total:
        print("no samples")
        return

    def pct(n):
        return f"{100 * n / total:5.1f}%"

    print(f"{total} samples\n")
    print("## by thread")
    for comm, n in by_thread.most_common(8):
        print(f"  {pct(n)}  {comm}")
    print("\n## self time by crate (where the CPU actually is)")
    for crate, n in by_crate.most_common(25):
        print(f"  {pct(n)}  {crate}")
    print("\n## kernel time by the user-space function that entered it (top 12)")
    for fn, n in kernel_from.most_common(12):
        print(f"  {pct(n)}  {fn}")
    print("\n## inclusive time by stage (a sample may count in several)")
    for name, _ in STAGES:
        print(f"  {pct(by_stage[name])}  {name}")


if __name__ == "__main__":
    main()
