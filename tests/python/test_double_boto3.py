"""boto3 and anthropic.AnthropicBedrock against bedrock-double: independent
clients (botocore's parser and signer, httpx with every header signed and a
raw ':' in the path) must see the double as Bedrock."""

import json

import anthropic
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from conftest import account_data_retention

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def bedrock(double, access_key_id=None, secret_access_key=None):
    return boto3.client(
        "bedrock-runtime",
        region_name=double.region,
        endpoint_url=double.url,
        aws_access_key_id=access_key_id or double.access_key_id,
        aws_secret_access_key=secret_access_key or double.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_replies_naming_the_model(double):
    before = double.stats()["by_operation"].get("Converse", 0)
    response = bedrock(double).converse(modelId=MODEL, messages=user("hello from boto3"))
    text = response["output"]["message"]["content"][0]["text"]
    assert text == f"Reply from {MODEL}: hello from boto3"
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["outputTokens"] == -(-len(text) // 4)
    assert double.stats()["by_operation"]["Converse"] == before + 1


def test_converse_stream_events(double):
    response = bedrock(double).converse_stream(modelId=MODEL, messages=user("one two three four five six"))
    text, deltas, names, usage = "", 0, [], None
    for event in response["stream"]:
        (name, payload), = event.items()
        names.append(name)
        if name == "contentBlockDelta":
            text += payload["delta"]["text"]
            deltas += 1
        if name == "metadata":
            usage = payload["usage"]
    assert text == f"Reply from {MODEL}: one two three four five six"
    assert deltas > 1
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    assert usage["outputTokens"] == -(-len(text) // 4)


def test_converse_stream_midstream_exception(double):
    response = bedrock(double).converse_stream(modelId=MODEL, messages=user("hi [[double:midstream]]"))
    seen = []
    with pytest.raises(EventStreamError) as raised:
        for event in response["stream"]:
            seen.extend(event)
    assert seen == ["messageStart", "contentBlockDelta"]
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_bare_model_id_is_a_validation_exception(double):
    bare = "anthropic.claude-haiku-4-5-20251001-v1:0"
    with pytest.raises(ClientError) as raised:
        bedrock(double).converse(modelId=bare, messages=user("hi"))
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"Invocation of model ID {bare} with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model."
    )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "key, secret, code",
    [
        ("AKIDUNKNOWN", None, "UnrecognizedClientException"),
        (None, "wrong-secret", "InvalidSignatureException"),
    ],
)
def test_bad_keys_are_403(double, key, secret, code):
    with pytest.raises(ClientError) as raised:
        bedrock(double, key, secret).converse(modelId=MODEL, messages=user("hi"))
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert raised.value.response["Error"]["Code"] == code


def test_invoke_model(double):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hello invoke"}],
    }
    response = bedrock(double).invoke_model(modelId=MODEL, body=json.dumps(body))
    message = json.loads(response["body"].read())
    assert message["type"] == "message"
    assert message["content"] == [{"type": "text", "text": f"Reply from {MODEL}: hello invoke"}]
    assert message["usage"]["output_tokens"] >= 1


def test_invoke_model_rejects_a_stream_key(double):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with pytest.raises(ClientError) as raised:
        bedrock(double).invoke_model(modelId=MODEL, body=json.dumps(body))
    assert "extraneous key [stream] is not permitted" in raised.value.response["Error"]["Message"]


def anthropic_bedrock(double):
    return anthropic.AnthropicBedrock(
        base_url=double.url,
        aws_access_key=double.access_key_id,
        aws_secret_key=double.secret_access_key,
        aws_region=double.region,
        max_retries=0,
    )


def test_anthropic_bedrock_messages_create(double):
    message = anthropic_bedrock(double).messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "hello anthropic"}],
    )
    assert message.content[0].text == f"Reply from {MODEL}: hello anthropic"
    assert message.stop_reason == "end_turn"


def test_anthropic_bedrock_messages_stream(double):
    client = anthropic_bedrock(double)
    with client.messages.stream(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "stream to anthropic please"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == f"Reply from {MODEL}: stream to anthropic please"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == -(-len(text) // 4)


def test_anthropic_bedrock_throttle_is_a_rate_limit_error(double):
    with pytest.raises(anthropic.RateLimitError):
        anthropic_bedrock(double).messages.create(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "[[double:throttle]]"}],
        )


# ---- the lineup's request rules, as botocore sees them ----

SONNET_55 = "us.anthropic.claude-sonnet-5-5"
OPUS_55 = "global.anthropic.claude-opus-5-5"


def validation_message(call):
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


def hi_body(**fields):
    """A minimal InvokeModel body saying "hi", with `fields` added."""
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}], **fields}


def invoke(client, model_id, body):
    """InvokeModel with `body`; the model's answer, parsed."""
    return json.loads(client.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read())


def invoke_refused(client, model_id, body):
    """InvokeModel with `body`, which must be refused; Bedrock's message."""
    return validation_message(lambda: invoke(client, model_id, body))


def test_5x_rules_are_enforced_on_converse_and_invoke(double):
    client = bedrock(double)
    message = validation_message(lambda: client.converse(
        modelId=SONNET_55, messages=user("hi"),
        additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 2048}}))
    assert message == (
        'The model returned the following errors: "thinking.type.enabled" is not supported for this model. '
        'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.')
    message = validation_message(lambda: client.converse(
        modelId=OPUS_55, messages=user("hi"), inferenceConfig={"temperature": 0.2}))
    assert message == "The model returned the following errors: `temperature` is deprecated for this model."
    tool = {"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}
    message = validation_message(lambda: client.converse(
        modelId=SONNET_55, messages=user("hi"), toolConfig={"tools": [tool], "toolChoice": {"any": {}}}))
    assert 'tool_choice: type "tool" and "any" are not supported' in message
    body = hi_body(thinking={"type": "disabled"})
    message = invoke_refused(client, OPUS_55, body)
    assert '"thinking.type.disabled" is not supported' in message
    # What a valid client sends is accepted.
    body["thinking"] = {"type": "adaptive"}
    body["output_config"] = {"effort": "high"}
    answer = invoke(client, OPUS_55, body)
    assert answer["model"] == "claude-opus-5-5"


def test_sonnet_5_5_turns_thinking_off_with_between_tools(double):
    """whats-new-sonnet-5-5: `disabled` is a 400 pointing to `between_tools`,
    which works at low to high effort and is a 400 at xhigh and max."""
    client = bedrock(double)
    body = hi_body(thinking={"type": "disabled"})
    message = invoke_refused(client, SONNET_55, body)
    assert 'Use "thinking.type.between_tools"' in message
    body["thinking"] = {"type": "between_tools"}
    body["output_config"] = {"effort": "max"}
    message = invoke_refused(client, SONNET_55, body)
    assert '"output_config.effort": "max"' in message
    body["output_config"] = {"effort": "high"}
    answer = invoke(client, SONNET_55, body)
    assert answer["model"] == "claude-sonnet-5-5"
    # Through Converse the same fields travel as additional model fields.
    answer = client.converse(modelId=SONNET_55, messages=user("hi"), additionalModelRequestFields={
        "thinking": {"type": "between_tools"}, "output_config": {"effort": "low"}})
    assert answer["stopReason"] == "end_turn"
    message = validation_message(lambda: client.converse(
        modelId=OPUS_55, messages=user("hi"),
        additionalModelRequestFields={"thinking": {"type": "between_tools"}}))
    assert message.endswith('"thinking.type.between_tools" is not supported for this model.')


def test_opus_5_5_hides_its_thinking_unless_asked(double):
    """whats-new-opus-5-5: thinking blocks come back with an empty thinking
    field under the default `display: omitted`; `summarized` returns the
    text; other values are a 400. The signature and the bill are the same."""
    client = bedrock(double)
    thinking = {"type": "adaptive"}

    def reasoning(display=None):
        fields = {"thinking": {**thinking, "display": display} if display else thinking}
        answer = client.converse(modelId=OPUS_55, messages=user("hi"),
                                 additionalModelRequestFields=fields)
        block = answer["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
        return block, answer["usage"]["outputTokens"]

    (hidden, billed), (shown, billed_shown) = reasoning(), reasoning("summarized")
    assert hidden["text"] == "" and shown["text"].startswith("Thinking about:")
    assert hidden["signature"] == shown["signature"] and billed == billed_shown
    assert reasoning("omitted")[0]["text"] == ""
    message = invoke_refused(client, OPUS_55, hi_body(thinking={**thinking, "display": "updates"}))
    assert message.endswith("thinking.adaptive.display: Input should be 'summarized', 'omitted'")
    # Older models show it unless told otherwise.
    body = hi_body(thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048)
    assert invoke(client, MODEL, body)["content"][0]["thinking"].startswith("Thinking about:")


def test_the_5_x_models_think_unasked_and_opus_4_8_does_not(double):
    """whats-new-opus-5: "on Claude Opus 4.8, requests run without thinking
    unless you set thinking: adaptive. On Claude Opus 5, the same request
    runs with thinking on"; Opus 5.5 always thinks."""
    client = bedrock(double)

    def kinds(model_id):
        content = client.converse(modelId=model_id, messages=user("hi"))["output"]["message"]["content"]
        return [next(iter(block)) for block in content]

    assert kinds(OPUS_55) == ["reasoningContent", "text"]
    assert kinds("us.anthropic.claude-opus-5") == ["reasoningContent", "text"]
    assert kinds("us.anthropic.claude-opus-4-8") == ["text"]


def test_thinking_in_a_tool_loop_needs_the_last_turns_thinking(double):
    """Anthropic's 400, passed on by Bedrock (langchain-aws#844): with
    budget-form thinking on, the assistant turn the tool results answer must
    start with its thinking block. Adaptive thinking takes the loop."""
    client = bedrock(double)
    tools = {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}
    call = {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "42"}]}}
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}

    def loop(assistant, fields, model=MODEL):
        messages = [*user("use f"), {"role": "assistant", "content": assistant},
                    {"role": "user", "content": [result]}]
        return client.converse(modelId=model, messages=messages, toolConfig=tools,
                               inferenceConfig={"maxTokens": 2048},
                               additionalModelRequestFields=fields)

    message = validation_message(lambda: loop([call], thinking))
    assert "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`" in message
    signed = {"reasoningContent": {"reasoningText": {"text": "hm", "signature": "sig"}}}
    assert loop([signed, call], thinking)["stopReason"] == "end_turn"
    assert loop([call], {})["stopReason"] == "end_turn"
    adaptive = {"thinking": {"type": "adaptive"}}
    assert loop([call], adaptive, model=OPUS_55)["stopReason"] == "end_turn"


def test_opus_5_5_refuses_thinking_another_model_signed(double):
    """Opus 5.5's thinking blocks are bound to the model that produced
    them (whats-new-opus-5-5); replaying Sonnet 5.5's to it is a 400, to
    Sonnet 5.5 itself it is fine."""
    client = bedrock(double)
    sonnet = "global.anthropic.claude-sonnet-5-5"
    first = client.converse(modelId=sonnet, messages=user("think first"))
    blocks = first["output"]["message"]["content"]
    assert "reasoningContent" in blocks[0]
    messages = [*user("think first"), {"role": "assistant", "content": blocks}, *user("and now?")]
    message = validation_message(lambda: client.converse(modelId=OPUS_55, messages=messages))
    assert message.endswith("messages.1.content.0: Invalid `signature` in `thinking` block")
    assert client.converse(modelId=sonnet, messages=messages)["stopReason"] == "end_turn"

    # InvokeModel, in Anthropic's own shape, the same.
    def invoke(model, conversation):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256, "messages": conversation}
        return json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())

    asked = [{"role": "user", "content": "think first"}]
    answer = invoke(sonnet, asked)["content"]
    assert answer[0]["type"] == "thinking"
    conversation = [*asked, {"role": "assistant", "content": answer},
                    {"role": "user", "content": "and now?"}]
    message = validation_message(lambda: invoke(OPUS_55, conversation))
    assert message.endswith("messages.1.content.0: Invalid `signature` in `thinking` block")
    assert invoke(sonnet, conversation)["stop_reason"] == "end_turn"


def test_end_of_life_model_is_resource_not_found(double):
    with pytest.raises(ClientError) as raised:
        bedrock(double).converse(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0", messages=user("hi"))
    error = raised.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert error["Message"].startswith("This model version has reached the end of its life.")


# ---- the control plane (service "bedrock") ----

def control_plane(double):
    return boto3.client(
        "bedrock",
        region_name=double.region,
        endpoint_url=double.url,
        aws_access_key_id=double.access_key_id,
        aws_secret_access_key=double.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def test_fable_serves_only_under_the_data_retention_modes_it_allows(double):
    """A fresh account resolves to `default`, which Claude Fable refuses on
    every call (pydantic-ai#8170); PutAccountDataRetention opts in, and
    Fable 5 takes only provider_data_share (PostHog#70781)."""
    runtime = bedrock(double)
    fable = "us.anthropic.claude-fable-5-2"
    assert control_plane(double).get_account_data_retention()["mode"] == "inherit"
    message = validation_message(lambda: runtime.converse(modelId=fable, messages=user("hi")))
    assert message == "data retention mode 'default' is not available for this model"
    with account_data_retention(double, "aws_review") as client:
        assert client.get_account_data_retention()["mode"] == "aws_review"
        assert runtime.converse(modelId=fable, messages=user("hi"))["stopReason"] == "end_turn"
        message = invoke_refused(runtime, "us.anthropic.claude-fable-5", hi_body())
        assert message == "data retention mode 'aws_review' is not available for this model"
        # Models without the gate serve under any mode.
        assert invoke(runtime, MODEL, hi_body())["stop_reason"] == "end_turn"
    with pytest.raises(ClientError) as raised:
        control_plane(double).put_account_data_retention(mode="everything")
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_list_inference_profiles_pages_through_this_regions_profiles(double):
    client = control_plane(double)
    pages = client.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 5})
    summaries = [s for page in pages for s in page["inferenceProfileSummaries"]]
    ids = {s["inferenceProfileId"] for s in summaries}
    assert {"us.anthropic.claude-opus-5-5", "global.anthropic.claude-haiku-5-5",
            "us.anthropic.claude-sonnet-5-5"} <= ids
    assert not any(i.startswith(("jp.", "eu.")) for i in ids), "us-east-1 sees us. and global. only"
    assert "us.anthropic.claude-sonnet-4-20250514-v1:0" not in ids, "end of life: no profile"
    opus = next(s for s in summaries if s["inferenceProfileId"] == "us.anthropic.claude-opus-5-5")
    assert opus["status"] == "ACTIVE" and opus["type"] == "SYSTEM_DEFINED"
    assert opus["inferenceProfileArn"].endswith(":inference-profile/us.anthropic.claude-opus-5-5")
    assert opus["models"][0]["modelArn"].endswith("::foundation-model/anthropic.claude-opus-5-5")
    assert opus["createdAt"].year == 2026  # botocore parsed the iso8601 timestamp


def test_list_foundation_models_shows_lifecycle(double):
    models = control_plane(double).list_foundation_models(byProvider="anthropic")["modelSummaries"]
    by_id = {m["modelId"]: m for m in models}
    sonnet4 = by_id["anthropic.claude-sonnet-4-20250514-v1:0"]["modelLifecycle"]
    assert sonnet4["status"] == "LEGACY"
    assert sonnet4["endOfLifeTime"].isoformat().startswith("2026-10-14")
    assert by_id["anthropic.claude-haiku-5-5"]["modelLifecycle"]["status"] == "ACTIVE"
    assert by_id["anthropic.claude-haiku-5-5"]["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert control_plane(double).list_foundation_models(byProvider="Meta")["modelSummaries"] == []


def test_control_plane_checks_the_signature(double):
    client = boto3.client("bedrock", region_name=double.region, endpoint_url=double.url,
                          aws_access_key_id=double.access_key_id, aws_secret_access_key="wrong",
                          config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as raised:
        client.list_inference_profiles()
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_denied_model_is_access_denied_and_not_authorized(denying_double):
    from conftest import DENIED_MODEL
    with pytest.raises(ClientError) as raised:
        bedrock(denying_double).converse(modelId=f"us.{DENIED_MODEL}", messages=user("hi"))
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    client = control_plane(denying_double)
    denied = client.get_foundation_model_availability(modelId=DENIED_MODEL)
    assert denied["authorizationStatus"] == "NOT_AUTHORIZED"
    allowed = client.get_foundation_model_availability(modelId="anthropic.claude-opus-5-5")
    assert allowed["authorizationStatus"] == "AUTHORIZED"
    assert allowed["regionAvailability"] == "AVAILABLE"
    # Listing does not depend on access: the profile is still offered.
    ids = {s["inferenceProfileId"] for s in client.list_inference_profiles()["inferenceProfileSummaries"]}
    assert f"us.{DENIED_MODEL}" in ids


def test_cache_points_cache_the_prefix_as_bedrock_does(double):
    """boto3 parses the double's cache usage as Bedrock's: a cachePoint caches
    the whole prefix before it, a repeat reads it, and a prefix below the
    model's minimum (Sonnet 4.5: 1,024 tokens) caches nothing, silently."""
    client = bedrock(double)
    sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    point = {"cachePoint": {"type": "default"}}
    # A system prompt unique to this test: 1,500 tokens at four characters each.
    system = [{"text": "boto3 cache check. " + "x" * 5981}, point]
    first = client.converse(modelId=sonnet, system=system, messages=user("first question"))["usage"]
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (1500, 0)
    second = client.converse(modelId=sonnet, system=system, messages=user("a different question"))["usage"]
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"]) == (0, 1500)
    assert second["inputTokens"] == -(-len("a different question") // 4)
    assert second["totalTokens"] == second["inputTokens"] + 1500 + second["outputTokens"]
    # A point after a short prefix: under the minimum, nothing cached, no error.
    short = [{"text": "short and unique to boto3"}, point]
    for _ in range(2):
        usage = client.converse(modelId=sonnet, system=short, messages=user("q"))["usage"]
        assert usage["cacheWriteInputTokens"] == usage["cacheReadInputTokens"] == 0
    # Five cache points: Bedrock's ValidationException.
    with pytest.raises(ClientError) as err:
        client.converse(modelId=sonnet, system=[{"text": "a"}, point, point, point, point, point], messages=user("q"))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "A maximum of 4 blocks with cache_control" in err.value.response["Error"]["Message"]
