# ClawRouter desktop app. The engine and CLI have their own scripts
# (scripts/run, scripts/test); these targets are about the desktop app.
.PHONY: run demo package test-desktop screenshots

# Start the desktop app with your settings, keychain and AWS account.
run:
	scripts/run-desktop

# Start it against a local Bedrock stand-in: every view, no AWS account.
demo:
	scripts/run-desktop --demo

# An installable .deb in target/release/bundle/deb/: the app, and the
# `clawrouter` CLI as /usr/bin/clawrouter (tauri.conf.json bundle.linux.deb.files).
package:
	scripts/desktop-deps
	npm --prefix ui run build --silent
	cargo build --release --locked -p clawrouter
	install -D -m 755 "$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release/clawrouter" src-tauri/bundle-bin/clawrouter
	ui/node_modules/.bin/tauri build --bundles deb

test-desktop:
	scripts/test-desktop

screenshots:
	scripts/screenshots

# ---- hardening: fuzzing and load (wip/harden, issue 7) -------------------
# `make fuzz`: each cargo-fuzz target for FUZZ_SECONDS (default 60) from its
# committed seed corpus. libFuzzer needs nightly features; the stable
# toolchain runs them with RUSTC_BOOTSTRAP=1. The fuzz crate has its own
# workspace and target dir (fuzz/target).
# `make load`: 10,000 requests at 64 concurrency through release builds;
# writes bench/load-report.md and bench/load-report.json.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := openai_to_converse anthropic_to_bedrock anthropic_stream_relay sse_frame host_origin

.PHONY: fuzz load
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for target in $(FUZZ_TARGETS); do \
		env -u CARGO_TARGET_DIR RUSTC_BOOTSTRAP=1 cargo fuzz run $$target \
			-- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 || exit 1; \
	done

load:
	cargo test --release -p clawrouter --test load -- --ignored --nocapture load_10k_at_64
# ---- end hardening -------------------------------------------------------

# ---------------------------------------------------------------------------
# bench (issue 8): ClawRouter vs LiteLLM vs direct calls to the bedrock double.
# How it measures and how to read it: bench/README.md.
#   make bench          full run; writes bench/results.{md,json} and bench/latency.png
#   make bench-quick    small counts, writes to bench/out/ (checks the harness)
#   make bench-profile  where ClawRouter's CPU goes (perf), writes bench/profile-*.txt
# ---------------------------------------------------------------------------
BENCH_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BENCH_VENV ?= bench/.venv
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_RUN := $(BENCH_PY) bench/run.py --bin-dir $(BENCH_TARGET_DIR)/release \
	--loadgen $(BENCH_TARGET_DIR)/release/loadgen --venv $(BENCH_VENV)

.PHONY: bench bench-quick bench-build bench-venv bench-micro bench-profile

bench: bench-build bench-venv bench-micro
	$(BENCH_RUN) --criterion-dir $(BENCH_TARGET_DIR)/criterion --out bench $(BENCH_RUN_ARGS)

bench-quick: bench-build bench-venv
	$(BENCH_RUN) --quick --startups 2 --out bench/out

bench-build:
	cargo build --release -p clawrouter -p bedrock-double
	cd bench/loadgen && CARGO_TARGET_DIR=$(BENCH_TARGET_DIR) cargo build --release

bench-venv: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt
	touch $@

bench-micro:
	cargo bench -p clawrouter --bench translate -- --warm-up-time 1 --measurement-time 3

bench-profile: bench-build
	BENCH_TARGET_DIR=$(BENCH_TARGET_DIR) PROFILE_CONCURRENCY=1 bench/profile.sh
	BENCH_TARGET_DIR=$(BENCH_TARGET_DIR) PROFILE_CONCURRENCY=64 bench/profile.sh
	BENCH_TARGET_DIR=$(BENCH_TARGET_DIR) PROFILE_CONCURRENCY=1 PROFILE_STREAM=1 bench/profile.sh
# ------------------------------------------------------------- end of bench

# ---- routing (issue 15) --------------------------------------------------
# `make route-eval`: the labelled prompts in crates/clawrouter/tests/route-eval
# through the router; prints accuracy per tier and the confusion matrix per
# file and in total, and fails if the goals are not met.
.PHONY: route-eval
route-eval:
	cargo test -q -p clawrouter --test route_eval -- --nocapture
