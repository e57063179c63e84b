"""The Codex CLI through ClawRouter's `POST /v1/responses`, configured with
the README's own snippet (only the port is the test proxy's). The CLI is
pinned in tests/codex (`npm ci --prefix tests/codex`); its npm package
carries the native binary.

Codex always streams (`stream: true`), so every case here is a streamed
answer; the ledger confirms each was served as a stream (time to first token).
"""

import json
import os
import re
import subprocess

import pytest

from conftest import REPO, ledger_rows

CODEX = REPO / "tests" / "codex" / "node_modules" / ".bin" / "codex"
README_PORT = "127.0.0.1:4242"


def readme_codex_config():
    """The TOML block under the README's **Codex CLI** heading."""
    readme = (REPO / "README.md").read_text()
    match = re.search(r"\*\*Codex CLI\*\*.*?```toml\n(.*?)```", readme, re.S)
    assert match, "README has no Codex CLI config block"
    return match.group(1)


def served(proxy, at_least):
    """(route, ttft_ms, status) of every ledger row, once `at_least` exist."""
    return ledger_rows(proxy, "SELECT route, ttft_ms, status FROM requests ORDER BY id", at_least)


def run_codex(proxy, tmp_path, prompt):
    if not CODEX.exists():
        missing = "Codex CLI is not installed: npm ci --prefix tests/codex"
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs it (scripts/setup --test); never skip there
        pytest.skip(missing)
    config = readme_codex_config()
    assert 'wire_api = "responses"' in config
    home, codex_home, work, tools = (tmp_path / d for d in ("home", "codex", "work", "bin"))
    for d in (home, codex_home, work, tools):
        d.mkdir()
    port = proxy.url.removeprefix("http://")
    (codex_home / "config.toml").write_text(config.replace(README_PORT, port))
    # The double calls exec_command with cmd "sample": this is that command.
    marker = tmp_path / "sample-ran"
    sample = tools / "sample"
    sample.write_text(f"#!/bin/sh\necho sample-output-42\ntouch {marker}\n")
    sample.chmod(0o755)
    # Codex runs commands in a login shell, which sets PATH from the profile.
    (home / ".bash_profile").write_text(f'export PATH="{tools}:$PATH"\n')
    env = {
        "PATH": f"{tools}:{os.environ['PATH']}",
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "CLAWROUTER_KEY": proxy.key,
    }
    done = subprocess.run(
        [
            str(CODEX),
            "exec",
            "--skip-git-repo-check",
            # Codex's Linux sandbox helper is not in the npm package's PATH here;
            # the test's only command is the harmless script above.
            "--dangerously-bypass-approvals-and-sandbox",
            "--json",
            prompt,
        ],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"codex failed ({done.returncode}): {done.stdout}\n{done.stderr}"
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    items = [e["item"] for e in events if e.get("type") == "item.completed"]
    return items, marker.exists()


def agent_messages(items):
    return [i["text"] for i in items if i.get("type") == "agent_message"]


def test_codex_one_shot_prompt(proxy, tmp_path):
    before = len(served(proxy, 0))
    items, ran = run_codex(proxy, tmp_path, "Say hello from Codex")
    messages = agent_messages(items)
    assert len(messages) == 1, items
    # The double answers "Reply from <profile id>: <start of the user turn>",
    # which here begins with Codex's environment context.
    assert re.match(r"Reply from \S*anthropic\.claude\S*: <environment_context>", messages[0]), messages
    assert not ran
    rows = served(proxy, before + 1)[before:]
    assert [(route, status) for route, _, status in rows] == [("/v1/responses", 200)]
    assert rows[0][1] is not None, "served as a stream"


def test_codex_tool_loop(proxy, tmp_path):
    before = len(served(proxy, 0))
    items, ran = run_codex(proxy, tmp_path, "[[double:tool=exec_command]] run the sample")
    assert ran, "Codex ran the command the model asked for"
    commands = [i for i in items if i.get("type") == "command_execution"]
    assert len(commands) == 1, items
    assert "sample-output-42" in commands[0]["aggregated_output"]
    messages = agent_messages(items)
    # First turn: text then the call; second turn, after the result: the answer.
    # (the tool result is the whole last user turn, so the reply has no prompt)
    assert re.fullmatch(r"Reply from \S*anthropic\.claude\S*\.", messages[-1]), messages
    assert items.index(commands[0]) < len(items) - 1
    rows = served(proxy, before + 2)[before:]
    assert [(route, status) for route, _, status in rows] == [("/v1/responses", 200)] * 2
    assert all(ttft is not None for _, ttft, _ in rows)


def test_codex_streams_a_long_answer_whole(proxy, tmp_path):
    items, _ = run_codex(proxy, tmp_path, "[[double:long=300]] [[double:chunk-delay=1]] tell me a story")
    messages = agent_messages(items)
    assert len(messages) == 1
    # The double's long reply cycles alpha..hotel, 300 words over many
    # events; every one arrived, in order.
    cycle = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    assert messages[0].split() == [cycle[i % 8] for i in range(300)]
