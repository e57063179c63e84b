"""The official `openai` Python client's Responses API (`client.responses`)
against ClawRouter's stateless `POST /v1/responses`, with the bedrock double upstream."""

import json

import openai
import pytest

from conftest import ledger_rows

SONNET = "bedrock/claude-sonnet-4-5"
SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
WEATHER = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
]


@pytest.fixture()
def client(proxy):
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=proxy.key, max_retries=0)


def ledger_routes(proxy, at_least):
    """The ledger's route column, once `at_least` rows are written."""
    return [r[0] for r in ledger_rows(proxy, "SELECT route FROM requests ORDER BY id", at_least)]


def test_create_answers_with_text_and_usage(client, proxy):
    r = client.responses.create(
        model=SONNET, instructions="Be brief.", input="Hello from responses.create"
    )
    assert r.status == "completed"
    assert r.model == SONNET
    assert SONNET_PROFILE in r.output_text
    assert "Hello from responses.create" in r.output_text
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert "/v1/responses" in ledger_routes(proxy, 1)


def test_stream_events_rebuild_the_whole_answer(client):
    whole = client.responses.create(model=SONNET, input="stream this please").output_text
    with client.responses.stream(model=SONNET, input="stream this please") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert "response.output_item.added" in types and "response.output_item.done" in types
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole == final.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.usage.output_tokens > 0


def test_function_calling_over_two_turns(client):
    first = client.responses.create(
        model=SONNET, input="[[double:tool=get_weather]] weather in Paris?", tools=WEATHER
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["location"], str)
    second = client.responses.create(
        model=SONNET,
        tools=WEATHER,
        input=[
            {"role": "user", "content": "[[double:tool=get_weather]] weather in Paris?"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'},
        ],
    )
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["message"]
    assert SONNET_PROFILE in second.output_text


def test_streamed_function_call_arguments(client):
    with client.responses.stream(
        model=SONNET, input="[[double:tool=get_weather]] weather?", tools=WEATHER, tool_choice="required"
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and done[0].arguments == args
    assert isinstance(json.loads(args)["location"], str)
    call = next(item for item in final.output if item.type == "function_call")
    assert call.arguments == args and call.name == "get_weather"


def test_reasoning_is_carried_into_the_next_turn(client):
    """Claude's signed thinking goes out in `encrypted_content` and comes back
    in the next turn's input. Sonnet 4.5 thinks on a token budget, which can
    stay on in a tool loop only when the previous turn's thinking is sent
    back (Bedrock rejects it otherwise, and the proxy then turns thinking
    off), so the second answer reasons again exactly when the item was
    carried."""
    ask = "[[double:tool=get_weather]] weather in Oslo?"
    reasoning = {"effort": "low", "summary": "auto"}
    with client.responses.stream(model=SONNET, input=ask, tools=WEATHER, reasoning=reasoning) as stream:
        summary = "".join(e.delta for e in stream if e.type == "response.reasoning_summary_text.delta")
        first = stream.get_final_response()
    kinds = [item.type for item in first.output]
    assert kinds[0] == "reasoning" and "function_call" in kinds
    thought = first.output[0]
    assert thought.encrypted_content
    assert summary.startswith("Thinking about:") and thought.summary[0].text == summary
    assert first.usage.output_tokens_details.reasoning_tokens > 0
    call = next(item for item in first.output if item.type == "function_call")
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}

    def next_turn(history):
        return client.responses.create(
            model=SONNET,
            tools=WEATHER,
            reasoning=reasoning,
            stream=False,
            input=[{"role": "user", "content": ask}, *history, result],
        )

    carried = next_turn([item.model_dump(exclude_none=True) for item in first.output])
    assert [item.type for item in carried.output] == ["reasoning", "message"]
    dropped = next_turn([item.model_dump(exclude_none=True) for item in first.output[1:]])
    assert [item.type for item in dropped.output] == ["message"]


def test_reasoning_goes_back_only_to_the_model_that_produced_it(client):
    """Claude's thinking blocks are bound to the model that produced them:
    Opus 5.5 refuses another model's (the double plays the 400). A
    conversation that moves from Sonnet 5.5 to Opus 5.5 mid-loop keeps its
    items; the proxy leaves Sonnet's thinking out of Opus's request."""
    ask = "[[double:tool=get_weather]] weather in Oslo?"
    first = client.responses.create(model="bedrock/claude-sonnet-5-5", input=ask, tools=WEATHER,
                                    reasoning={"summary": "auto"})
    assert first.output[0].type == "reasoning" and first.output[0].encrypted_content
    call = next(item for item in first.output if item.type == "function_call")
    history = [item.model_dump(exclude_none=True) for item in first.output]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    second = client.responses.create(model="bedrock/claude-opus-5-5", tools=WEATHER,
                                     input=[{"role": "user", "content": ask}, *history, result])
    assert second.status == "completed"
    assert second.output[-1].type == "message" and second.output_text


def test_summaries_show_the_thinking_of_models_that_hide_it(client):
    """Opus 5.5 returns its thinking blocks empty unless a request asks for
    them (Bedrock's `display: omitted` default, which the double plays).
    Codex asks for summaries and no effort; the summary carries the thinking,
    streamed and whole. Without `summary` the reasoning item is empty."""
    opus = "bedrock/claude-opus-5-5"
    codex_reasoning = {"summary": "auto"}
    with client.responses.stream(model=opus, input="why is the sky blue?", reasoning=codex_reasoning) as stream:
        summary = "".join(e.delta for e in stream if e.type == "response.reasoning_summary_text.delta")
        streamed = stream.get_final_response()
    assert summary == "Thinking about: why is the sky blue?"
    assert streamed.output[0].summary[0].text == summary
    whole = client.responses.create(model=opus, input="why is the sky blue?", reasoning=codex_reasoning)
    assert whole.output[0].summary[0].text == summary
    unasked = client.responses.create(model=opus, input="why is the sky blue?", reasoning={"effort": "low"})
    assert unasked.output[0].type == "reasoning" and unasked.output[0].summary == []


def test_hosted_tools_are_dropped_and_said_so(client):
    raw = client.responses.with_raw_response.create(
        model=SONNET, input="find news", tools=[{"type": "web_search"}, *WEATHER]
    )
    assert raw.headers["x-clawrouter-dropped-tools"] == "web_search"
    assert raw.parse().status == "completed"


def test_auto_routes_and_says_where(client):
    raw = client.responses.with_raw_response.create(
        model="auto", input="prove that the square root of 2 is irrational"
    )
    assert raw.headers["x-clawrouter-tier"] == "top"
    assert "opus" in raw.parse().output_text


def test_what_a_stateless_proxy_cannot_do_is_a_clear_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model=SONNET, input="go on", previous_response_id="resp_123")
    assert e.value.code == "previous_response_not_found"
    assert e.value.param == "previous_response_id"
    assert "send the whole conversation" in e.value.message


def test_failures_mid_stream_end_in_response_failed(client):
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=SONNET, input="[[double:throttle]] hi")
    with client.responses.stream(model=SONNET, input="[[double:midstream]] go") as stream:
        events = list(stream)
    assert events[0].type == "response.created"
    assert any(e.type == "response.output_text.delta" for e in events)
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error.code and failed.response.error.message
