"""Automatic prompt caching, end to end: the official `openai` client (which
cannot ask for caching) talks through ClawRouter to the bedrock double.

ClawRouter adds a Bedrock cache point after a long system prompt; the double,
like Bedrock, caches the prefix up to it on the first turn and reports it as
cache reads on the second. The second turn's usage says so in OpenAI's terms
(`prompt_tokens_details.cached_tokens`), and its ledger row records the cache
reads and what they saved.
"""

import json
import os
import subprocess

import openai

from conftest import REPO, ledger_rows

# Haiku 5.5 caches prompts from 512 tokens (models.yaml, min_cache_tokens).
HAIKU = "bedrock/claude-haiku-5-5"
# About 2,000 tokens at four characters a token: well over the minimum.
SYSTEM = " ".join(
    f"Rule {i}: answer in plain words, cite the file you read, and keep to the repository's style."
    for i in range(90)
)


ROWS = (
    "SELECT requested_model, cache_read_tokens, cache_write_tokens, cost_pusd, cache_saved_pusd, client"
    " FROM requests ORDER BY id"
)


def row_after(proxy, before):
    """The ledger row after the first `before`, once it is written."""
    return ledger_rows(proxy, ROWS, before + 1)[before]


def test_second_turn_reads_the_system_prompt_from_cache(proxy):
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=proxy.key, max_retries=0)
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Which file defines the router's tiers?"},
    ]
    before = len(ledger_rows(proxy, ROWS, 0))
    first = client.chat.completions.create(model=HAIKU, messages=messages)
    # The first turn writes the prefix: nothing is read yet.
    assert (first.usage.prompt_tokens_details.cached_tokens or 0) == 0
    model, read, written, _, saved, _ = row_after(proxy, before)
    assert model == HAIKU
    assert read == 0 and written >= 512, (read, written)

    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And where are the prices?"},
    ]
    second = client.chat.completions.create(model=HAIKU, messages=messages)
    cached = second.usage.prompt_tokens_details.cached_tokens
    # What the first turn wrote is what the second reads.
    assert cached == written, (cached, written)
    assert second.usage.prompt_tokens > cached

    model, read, written_again, cost, saved, agent = row_after(proxy, before + 1)
    assert model == HAIKU
    assert read == cached
    assert written_again == 0
    # Cache reads × (input − cache read) at Haiku 5.5's us. rates
    # ($0.11 and $0.011 per million): 0.099 µ$ a token = 99,000 pico$.
    assert saved == read * 99_000, (saved, read)
    assert saved > 0 and cost > 0
    assert agent.startswith("OpenAI/Python")

    # `clawrouter usage --json` counts the saving and names the client.
    binary = os.environ.get("CLAWROUTER_BIN", str(REPO / "target" / "debug" / "clawrouter"))
    out = subprocess.run(
        [binary, "usage", "--json"],
        env={**os.environ, "CLAWROUTER_HOME": str(proxy.home)},
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(out.stdout)["summary"]
    today = summary["periods"]["today"]
    assert today["saved_by_caching_usd"] >= saved / 1e12
    assert today["cache_read_tokens"] >= read
    assert 0 < today["cache_read_share"] < 1
    assert "openai-python" in [c["client"] for c in summary["per_client"]]
