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
