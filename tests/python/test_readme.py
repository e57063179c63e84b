"""The README's shell snippets, run as written against the Bedrock double.

Every ```sh block in README.md is either run here, in README order in one
shell (so `export CLAWROUTER_KEY=...` carries on to the blocks after it, as
it would for a reader), or listed in NOT_RUN with the reason. A block that is
neither fails the test, so the README cannot grow a snippet nobody ran.

Two things differ from a reader's shell: the proxy the `proxy` fixture started
stands in for `./scripts/run --headless`, so `127.0.0.1:4242` becomes its
address; and the interactive `claude` gets `-p "Say hello"` so it answers once
and exits.
"""

import json
import os
import pathlib
import re
import subprocess

import pytest

from conftest import REPO

README = REPO / "README.md"
CLAUDE_DIR = REPO / "tests" / "claude_code" / "node_modules" / ".bin"
OPUS_PROFILE = "us.anthropic.claude-opus-4-6-v1"

# First line of a block that is not run → why.
NOT_RUN = {
    "./scripts/run     # build and start the ClawRouter tray app; its proxy is http://127.0.0.1:4242":
        "builds and runs everything; this test is part of ./scripts/test",
    "make run       # build and start the desktop app (installs WebKitGTK, tray libs, npm packages)":
        "the desktop app; tests/e2e drives it",
    "aider --openai-api-base http://127.0.0.1:4242/v1 --openai-api-key \"$CLAWROUTER_KEY\" --model openai/auto":
        "aider is not installed here; it is the same endpoint, key and model as the curl and openai SDK tests",
}
MARK = "::readme-block "


def sh_blocks():
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def as_run(block: str, proxy_address: str) -> str:
    lines = []
    for line in block.replace("127.0.0.1:4242", proxy_address).splitlines():
        if line.startswith("./scripts/run --headless"):
            continue  # the fixture's proxy is already serving
        if line.strip() == "claude":
            line = 'claude -p "Say hello" --output-format json'
        lines.append(line)
    return "\n".join(lines)


def test_every_shell_snippet_runs_against_the_double(proxy, double, tmp_path):
    if not (CLAUDE_DIR / "claude").exists():
        missing = "Claude Code is not installed: npm ci --prefix tests/claude_code"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    blocks = sh_blocks()
    assert len(blocks) >= 6, blocks
    run = [b for b in blocks if b.splitlines()[0] not in NOT_RUN]
    assert len(run) == len(blocks) - len(NOT_RUN), "a NOT_RUN entry matches no README block"

    address = proxy.url.removeprefix("http://")
    script = "set -euo pipefail\n" + "".join(
        f"echo '{MARK}{i}'\n{as_run(b, address)}\n" for i, b in enumerate(run)
    )
    home = tmp_path / "home"
    home.mkdir()
    clawrouter_bin = pathlib.Path(os.environ.get("CLAWROUTER_BIN", REPO / "target" / "debug" / "clawrouter"))
    env = {
        "PATH": f"{clawrouter_bin.parent}:{CLAUDE_DIR}:{os.environ['PATH']}",
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        # The proxy's home and key: `clawrouter keys ...` sees what it serves with.
        "CLAWROUTER_HOME": str(proxy.home),
        "CLAWROUTER_API_KEY": proxy.key,
        "CLAWROUTER_KEYCHAIN_SERVICE": f"clawrouter-readme-{tmp_path.name}",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "AWS_ENDPOINT_URL_BEDROCK": double.url,
        "AWS_ACCESS_KEY_ID": double.access_key_id,
        "AWS_SECRET_ACCESS_KEY": double.secret_access_key,
        "AWS_REGION": double.region,
        # Claude Code: nothing but the proxy.
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    for passthrough in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "RUSTUP_HOME", "CARGO_HOME"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    outputs = {}
    for chunk in done.stdout.split(MARK)[1:]:
        index, _, out = chunk.partition("\n")
        outputs[run[int(index)].splitlines()[0]] = out
    last = run[len(outputs) - 1].splitlines()[0] if outputs else None
    assert done.returncode == 0, f"README block failed: {last!r}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert len(outputs) == len(run)

    def output_of(prefix: str) -> str:
        found = [out for first, out in outputs.items() if first.startswith(prefix)]
        assert len(found) == 1, (prefix, list(outputs))
        return found[0]

    assert proxy.key in output_of("./scripts/run --headless")  # then `clawrouter keys status`
    check = output_of("printf '%s\\n' \"$AWS_SECRET_ACCESS_KEY\" | clawrouter keys set")
    assert "credentials:  keys saved in the OS keychain" in check, check
    assert "healthy" in check and "unhealthy" not in check, check
    reply = json.loads(output_of("curl "))
    assert reply["choices"][0]["message"]["content"], reply
    claude = json.loads(output_of("export ANTHROPIC_BASE_URL="))
    assert claude["is_error"] is False, claude
    # ANTHROPIC_MODEL=auto: routed by tier. Claude Code's requests carry
    # tools, which lift "Say hello" to the mid tier (Sonnet); without `auto`
    # it would have asked for its default Opus by name.
    assert "us.anthropic.claude-sonnet-" in claude["result"], claude
    assert OPUS_PROFILE not in claude["result"], claude
    for out in outputs.values():
        assert " { " not in out and "_private" not in out, out
