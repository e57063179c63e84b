"""The official `openai` Python client against ClawRouter, with the bedrock double upstream."""

import json

import openai
import pytest

from conftest import account_data_retention

SONNET = "bedrock/claude-sonnet-4-5"
WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    }
]


@pytest.fixture()
def client(proxy):
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=proxy.key, max_retries=0)


def test_text_completion(client):
    r = client.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "Hello from openai-python"}]
    )
    text = r.choices[0].message.content
    assert "us.anthropic.claude-sonnet-4-5-20250929-v1:0" in text
    assert "Hello from openai-python" in text
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_stream_with_usage(client):
    whole = client.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "stream this please"}]
    ).choices[0].message.content
    stream = client.chat.completions.create(
        model=SONNET,
        messages=[{"role": "user", "content": "stream this please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_call_round_trip(client):
    messages = [{"role": "user", "content": "[[double:tool=get_weather]] weather in Paris?"}]
    r = client.chat.completions.create(model=SONNET, messages=messages, tools=WEATHER)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["location"], str)
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
    ]
    r = client.chat.completions.create(model=SONNET, messages=messages, tools=WEATHER)
    assert r.choices[0].finish_reason == "stop"


def test_streamed_tool_call(client):
    stream = client.chat.completions.create(
        model=SONNET,
        messages=[{"role": "user", "content": "[[double:tool=get_weather]] weather?"}],
        tools=WEATHER,
        tool_choice="required",
        stream=True,
    )
    name, args, finish = None, "", None
    for chunk in stream:
        delta = chunk.choices[0].delta
        for call in delta.tool_calls or []:
            assert call.index == 0
            name = name or call.function.name
            args += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == "get_weather"
    assert isinstance(json.loads(args)["location"], str)
    assert finish == "tool_calls"


def test_auto_routes_and_says_where(client):
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "prove that the square root of 2 is irrational"}]
    )
    assert raw.headers["x-clawrouter-tier"] == "top"
    assert raw.headers["x-clawrouter-category"] == "reasoning"
    assert "opus" in raw.parse().choices[0].message.content


def test_errors_become_openai_exceptions(client, proxy):
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model=SONNET, messages=[{"role": "user", "content": "[[double:throttle]] hi"}]
        )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    bad = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
            model=SONNET, messages=[{"role": "user", "content": "[[double:midstream]] go"}], stream=True
        ):
            pass


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "auto"
    assert "bedrock/claude-opus-4-6" in ids


# Today's lineup by catalog name, Anthropic name and profile id, and `auto`.
LINEUP = [
    ("bedrock/claude-haiku-5-5", "us.anthropic.claude-haiku-5-5"),
    ("claude-haiku-5-5", "us.anthropic.claude-haiku-5-5"),
    ("us.anthropic.claude-haiku-5-5", "us.anthropic.claude-haiku-5-5"),
    ("bedrock/claude-sonnet-5-5", "us.anthropic.claude-sonnet-5-5"),
    ("claude-sonnet-5-5", "us.anthropic.claude-sonnet-5-5"),
    ("global.anthropic.claude-sonnet-5-5", "global.anthropic.claude-sonnet-5-5"),
    ("bedrock/claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
    ("claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
    ("us.anthropic.claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
]


@pytest.mark.parametrize("name,profile", LINEUP)
def test_current_lineup_by_every_name(client, name, profile):
    r = client.chat.completions.with_raw_response.create(
        model=name, messages=[{"role": "user", "content": "hello"}]
    )
    assert r.headers["x-clawrouter-profile"] == profile
    assert profile in r.parse().choices[0].message.content


def test_auto_routes_to_the_current_lineup(client):
    for text, model in [
        ("hi", "bedrock/claude-haiku-5-5"),
        ("write a python function that reverses a linked list", "bedrock/claude-sonnet-5-5"),
        ("prove that the square root of 2 is irrational", "bedrock/claude-opus-5-5"),
    ]:
        r = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": text}]
        )
        assert r.headers["x-clawrouter-model"] == model, text
        assert r.parse().model == model


def test_temperature_and_required_tool_choice_on_sonnet_5_5(client):
    # Sonnet 5.5 refuses both (the double answers 400 as Bedrock does); the
    # proxy drops the temperature, asks `auto` and says so.
    r = client.chat.completions.with_raw_response.create(
        model="bedrock/claude-sonnet-5-5",
        temperature=0.2,
        tools=WEATHER,
        tool_choice="required",
        messages=[{"role": "user", "content": "[[double:tool=get_weather]] weather in Paris?"}],
    )
    assert r.headers["x-clawrouter-adjusted"] == "tool_choice=auto;temperature=dropped"
    assert r.parse().choices[0].message.tool_calls[0].function.name == "get_weather"


def test_reasoning_effort_high_on_opus_5_5(client):
    r = client.chat.completions.with_raw_response.create(
        model="claude-opus-5-5",
        reasoning_effort="high",
        messages=[{"role": "user", "content": "think it through"}],
    )
    assert r.headers["x-clawrouter-adjusted"] == "thinking=adaptive"
    assert "us.anthropic.claude-opus-5-5" in r.parse().choices[0].message.content


def test_end_of_life_model_is_a_4xx_naming_the_replacement(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(
            model="bedrock/claude-sonnet-4", messages=[{"role": "user", "content": "hi"}]
        )
    assert e.value.code == "model_end_of_life"
    assert "end of life" in e.value.message
    assert "bedrock/claude-sonnet-4-6" in e.value.message


def test_fable_without_the_data_retention_opt_in_says_how_to_opt_in(client, double):
    """Bedrock refuses Claude Fable until the AWS account opts in to a data
    retention mode it allows; the 400 says where that is set. Once it is,
    the same request is served."""
    ask = dict(model="claude-fable-5-2", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(**ask)
    message = refused.value.body["message"]
    assert "data retention mode 'default' is not available for this model" in message
    assert "put-account-data-retention --mode aws_review" in message
    with account_data_retention(double, "aws_review"):
        answer = client.chat.completions.create(**ask)
    assert "us.anthropic.claude-fable-5-2" in answer.choices[0].message.content
