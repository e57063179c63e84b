"""The Claude Code CLI through ClawRouter, configured the way a user would:
only ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN (no AWS variables, no model
setting). The CLI is pinned in tests/claude_code (`npm ci --prefix tests/claude_code`).

Claude Code's default model is Opus 5.5 (`claude-opus-5-5` in 2.1.332; its
model catalog is read out of the native binary the npm package ships), which
is in the catalog: the reply comes from that model's own profile id, and the
ledger shows it was asked for by name and served by itself, not a substitute.
The npm package declares node >= 22 but runs a native binary, so Debian's
node 20 installs and runs it.
"""

import json
import os
import subprocess

import pytest

from conftest import REPO, ledger_rows

CLAUDE = REPO / "tests" / "claude_code" / "node_modules" / ".bin" / "claude"
OPUS_PROFILE = "us.anthropic.claude-opus-5-5"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def run_claude(proxy, tmp_path, prompt, *args):
    if not CLAUDE.exists():
        missing = "Claude Code is not installed: npm ci --prefix tests/claude_code"
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs it (scripts/setup --test); never skip there
        pytest.skip(missing)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": proxy.url,
        "ANTHROPIC_AUTH_TOKEN": proxy.key,
        # Nothing but the proxy: no update checks, telemetry or other traffic.
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    done = subprocess.run(
        [str(CLAUDE), "-p", prompt, "--output-format", "json", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"claude failed ({done.returncode}): {done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def served_rows(proxy, prompt_count):
    """(requested_model, model) of the /v1/messages rows, once `prompt_count` exist."""
    return ledger_rows(
        proxy, "SELECT requested_model, model FROM requests WHERE route = '/v1/messages'", prompt_count
    )


def test_claude_code_answers_through_the_proxy(proxy, tmp_path):
    result = run_claude(proxy, tmp_path, "Say hello")
    assert result["is_error"] is False, result
    assert OPUS_PROFILE in result["result"], result
    # Its default is asked for by name and served by that very model.
    rows = served_rows(proxy, 1)
    assert ("claude-opus-5-5", "bedrock/claude-opus-5-5") in rows, rows


def test_claude_code_tool_loop(proxy, tmp_path):
    # The double calls Read (file_path "sample"); Claude Code runs it, sends
    # the tool result back, and the second turn answers in text.
    result = run_claude(proxy, tmp_path, "[[double:tool=Read]] read the notes")
    assert result["is_error"] is False, result
    assert result["num_turns"] == 2, result
    assert OPUS_PROFILE in result["result"], result


def test_claude_code_with_a_chosen_model(proxy, tmp_path):
    result = run_claude(proxy, tmp_path, "Which model?", "--model", "claude-haiku-4-5")
    assert result["is_error"] is False, result
    assert HAIKU_PROFILE in result["result"], result
