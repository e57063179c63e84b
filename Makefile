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
	$(BENCH_RUN) --criterion-dir $(BENCH_TARGET_DIR)/criterion --out bench

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
