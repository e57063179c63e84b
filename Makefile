# ClawRouter desktop app. The engine and CLI have their own scripts
# (scripts/run, scripts/test); these targets are about the desktop app.
.PHONY: run demo package test-desktop screenshots

# Start the desktop app with your settings, keychain and AWS account.
run:
	scripts/run-desktop

# Start it against a local Bedrock stand-in: every view, no AWS account.
demo:
	scripts/run-desktop --demo

# An installable .deb in target/release/bundle/deb/.
package:
	scripts/desktop-deps
	npm --prefix ui run build --silent
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
