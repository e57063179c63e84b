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
