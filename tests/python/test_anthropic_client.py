"""The official `anthropic` Python client against ClawRouter, with the bedrock double upstream."""

import anthropic
import pytest

# The SDK warns that this (real, dated) model name is deprecated; it is the name tested.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

SONNET = "claude-sonnet-4-5-20250929"
SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}


@pytest.fixture()
def client(proxy):
    # The SDK sends the key as x-api-key; Claude Code's auth token goes as a bearer.
    return anthropic.Anthropic(base_url=proxy.url, api_key=proxy.key, max_retries=0)


def test_text_message(client):
    r = client.messages.create(
        model=SONNET,
        max_tokens=256,
        messages=[{"role": "user", "content": "Hello from anthropic-python"}],
    )
    assert r.model == SONNET
    assert r.stop_reason == "end_turn"
    text = r.content[0].text
    assert SONNET_PROFILE in text
    assert "Hello from anthropic-python" in text
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0


def test_bearer_token_like_claude_code(proxy):
    client = anthropic.Anthropic(base_url=proxy.url, auth_token=proxy.key, max_retries=0)
    r = client.messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert "claude-haiku-4-5" in r.content[0].text


def test_stream_matches_whole_answer(client):
    ask = {"model": SONNET, "max_tokens": 256, "messages": [{"role": "user", "content": "stream please"}]}
    whole = client.messages.create(**ask)
    with client.messages.stream(**ask) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == whole.content[0].text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == whole.usage.output_tokens


def test_tool_use_round_trip(client):
    first = client.messages.create(
        model=SONNET,
        max_tokens=512,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "[[double:tool=get_weather]] weather in Paris?"}],
    )
    assert first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "get_weather"
    assert call.input == {"location": "sample"}
    second = client.messages.create(
        model=SONNET,
        max_tokens=512,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C"}]},
        ],
    )
    assert second.stop_reason == "end_turn"


def test_thinking_with_betas(client):
    r = client.beta.messages.create(
        model=SONNET,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        betas=["interleaved-thinking-2025-05-14", "claude-code-20250219", "oauth-2025-04-20"],
        messages=[{"role": "user", "content": "think first"}],
    )
    assert r.content[0].type == "thinking"
    assert r.content[0].signature
    assert r.content[-1].type == "text"


def test_count_tokens(client):
    messages = [{"role": "user", "content": "How many tokens is this sentence?"}]
    counted = client.messages.count_tokens(model=SONNET, messages=messages)
    answered = client.messages.create(model=SONNET, max_tokens=16, messages=messages)
    assert counted.input_tokens == answered.usage.input_tokens > 0


def test_errors_are_typed(client):
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="gpt-4o", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert "bedrock/claude-sonnet-4-5" in str(missing.value)
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(
            model=SONNET, max_tokens=16, messages=[{"role": "user", "content": "[[double:throttle]] hi"}]
        )
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"


def test_wrong_key_is_authentication_error(proxy):
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=SONNET, max_tokens=16, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    "name,profile",
    [
        ("claude-haiku-5-5", "us.anthropic.claude-haiku-5-5"),
        ("bedrock/claude-haiku-5-5", "us.anthropic.claude-haiku-5-5"),
        ("eu.anthropic.claude-haiku-5-5", "eu.anthropic.claude-haiku-5-5"),
        ("claude-sonnet-5-5[1m]", "us.anthropic.claude-sonnet-5-5"),
        ("bedrock/claude-sonnet-5-5", "us.anthropic.claude-sonnet-5-5"),
        ("us.anthropic.claude-sonnet-5-5", "us.anthropic.claude-sonnet-5-5"),
        ("claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
        ("bedrock/claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
        ("global.anthropic.claude-opus-5-5", "global.anthropic.claude-opus-5-5"),
    ],
)
def test_current_lineup_by_every_name(client, name, profile):
    r = client.messages.with_raw_response.create(
        model=name, max_tokens=256, messages=[{"role": "user", "content": "hello"}]
    )
    assert r.headers["x-clawrouter-profile"] == profile
    message = r.parse()
    assert message.model == name
    # The 5.5 models think unasked (Bedrock's default for them), so the
    # answer is the text block after the thinking.
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert profile in message.content[1].text


def test_auto_low_tier_is_haiku_5_5(client):
    r = client.messages.with_raw_response.create(
        model="auto", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    )
    assert r.headers["x-clawrouter-model"] == "bedrock/claude-haiku-5-5"
    assert r.parse().model == "claude-haiku-5-5"


def test_budget_thinking_on_sonnet_5_5_becomes_adaptive(client):
    # The 5.x family refuses the budget form (the double answers 400 as
    # Bedrock does); the proxy sends adaptive thinking with the nearest effort.
    r = client.messages.with_raw_response.create(
        model="claude-sonnet-5-5",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "think, then answer"}],
    )
    assert r.headers["x-clawrouter-adjusted"] == "thinking=adaptive;effort=low"
    assert "us.anthropic.claude-sonnet-5-5" in "".join(
        b.text for b in r.parse().content if b.type == "text"
    )


def test_display_updates_goes_with_its_beta_where_the_model_takes_it(client):
    """Interactive Claude Code asks for `display: updates` under its beta.
    Sonnet 5.5 takes both; Haiku 5.5 does not take the beta, and the double
    (as Anthropic's API) would refuse `updates`. Haiku hides its thinking
    unless asked, so the proxy asks for the summary instead, and says so."""
    ask = dict(
        max_tokens=1024,
        thinking={"type": "adaptive", "display": "updates"},
        messages=[{"role": "user", "content": "hi"}],
        betas=["claude-code-20250219", "thinking-display-updates-2026-08-18"],
    )
    sonnet = client.beta.messages.with_raw_response.create(model="claude-sonnet-5-5", **ask)
    assert "x-clawrouter-adjusted" not in sonnet.headers
    assert [b.type for b in sonnet.parse().content] == ["thinking", "text"]
    haiku = client.beta.messages.with_raw_response.create(model="claude-haiku-5-5", **ask)
    assert haiku.headers["x-clawrouter-adjusted"] == "thinking.display=summarized"
    thinking = [b for b in haiku.parse().content if b.type == "thinking"]
    assert thinking and all(b.thinking for b in thinking), "the thinking is shown"
    assert haiku.parse().content[-1].type == "text"


def test_end_of_life_model_is_refused_naming_the_replacement(client):
    with pytest.raises(anthropic.NotFoundError) as e:
        client.messages.create(
            model="claude-sonnet-4-20250514", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert "end of life" in str(e.value)
    assert "bedrock/claude-sonnet-4-6" in str(e.value)
