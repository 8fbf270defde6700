"""The inference client over a real HTTP endpoint (the stub): streaming, its errors, bounded memory."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from shared.inference import ChatModel, Client, ModelUnavailable, chat_completions_url
from tests.helpers.stub_model import StubModel

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "Passages:\n[1] Economy tickets include one checked bag of 23 kg."},
    {"role": "user", "content": "How heavy may my bag be?"},
]


@pytest.fixture
def stub() -> Iterator[StubModel]:
    with StubModel() as model:
        yield model


async def _answer(model: ChatModel) -> str:
    return "".join([delta async for delta in model.stream(MESSAGES)])


def test_the_messages_route_is_built_as_huggingface_hub_builds_it() -> None:
    assert chat_completions_url("http://tgi:80") == "http://tgi:80/v1/chat/completions"
    assert chat_completions_url("http://h:8080/v1/") == "http://h:8080/v1/chat/completions"
    assert chat_completions_url("https://h/ep/v1/chat/completions") == "https://h/ep/v1/chat/completions"
    assert chat_completions_url("https://h/ep") == "https://h/ep/v1/chat/completions"


@pytest.mark.parametrize("client", ["hub", "direct"])
async def test_streamed_and_whole_answers_agree(client: Client, stub: StubModel) -> None:
    model = ChatModel(stub.url, model="stub", client=client)
    try:
        streamed = await _answer(model)
        whole = await model.complete(MESSAGES, max_tokens=256, temperature=0.2)
        assert streamed == whole.text
        assert whole.completion_tokens == len(whole.text.split(" "))  # the server's own count
        assert streamed.startswith("Economy tickets include one checked bag of 23 kg. [1]")
    finally:
        await model.close()


async def test_streaming_does_not_grow_memory_without_bound(stub: StubModel) -> None:
    model = ChatModel(stub.url, model="stub")
    try:
        for _ in range(50):
            await _answer(model)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(400):  # huggingface_hub's stream kept ~15 KB a call: ~6 MB
            assert (await _answer(model)).startswith("Economy tickets include one checked bag of 23 kg.")
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        assert grown < 1_000_000, f"{grown / 1e6:.1f} MB kept after 400 streamed calls"
    finally:
        await model.close()


async def test_an_abandoned_stream_frees_its_connection(stub: StubModel) -> None:
    model = ChatModel(stub.url, model="stub")
    try:
        for _ in range(30):  # more than the pool's connections, were abandoned ones kept
            first = model.stream(MESSAGES)
            assert await anext(first)
            await first.aclose()
        assert (await _answer(model)).startswith("Economy tickets")
    finally:
        await model.close()


def _sse(*events: object) -> str:
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


def _chunk(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]}


@pytest.fixture
async def served(httpserver: HTTPServer) -> AsyncIterator[Callable[..., Awaitable[ChatModel]]]:
    """A ChatModel against an endpoint that answers every call with the given body."""
    models: list[ChatModel] = []

    async def serve(body: str, status: int = 200) -> ChatModel:
        httpserver.expect_request("/v1/chat/completions").respond_with_data(
            body, status=status, content_type="text/event-stream"
        )
        models.append(ChatModel(httpserver.url_for("/v1"), model="m"))
        return models[-1]

    yield serve
    for model in models:
        await model.close()


async def test_an_error_event_mid_stream_fails_the_call_with_its_message(
    served: Callable[..., Awaitable[ChatModel]],
) -> None:
    model = await served(_sse(_chunk("Economy"), {"error": "CUDA out of memory", "error_type": "generation"}))
    stream = model.stream(MESSAGES)
    assert await anext(stream) == "Economy"  # what came before the error was streamed
    with pytest.raises(ModelUnavailable, match="CUDA out of memory"):
        await anext(stream)


async def test_an_http_error_names_the_status_and_the_body(
    served: Callable[..., Awaitable[ChatModel]],
) -> None:
    model = await served("model overloaded", status=503)
    with pytest.raises(ModelUnavailable, match="HTTP 503: model overloaded"):
        await _answer(model)


async def test_garbage_on_the_stream_is_a_model_error_not_a_crash(
    served: Callable[..., Awaitable[ChatModel]],
) -> None:
    model = await served(_sse(_chunk("ok"), "{not json"))
    with pytest.raises(ModelUnavailable, match="JSONDecodeError"):
        await _answer(model)


async def test_the_request_carries_the_sampling_settings_and_the_key(httpserver: HTTPServer) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: Request) -> Response:
        seen.append({"auth": request.headers.get("authorization"), **request.get_json()})
        return Response(_sse(_chunk("Hi"), "[DONE]", _chunk(" never")), content_type="text/event-stream")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(handler)
    model = ChatModel(httpserver.url_for("/v1"), model="smol", api_key="k3y")
    try:
        text = "".join(
            [d async for d in model.stream(MESSAGES, max_tokens=7, temperature=0.0, frequency_penalty=0.5)]
        )
        assert text == "Hi"  # nothing after [DONE]
        assert seen[0]["auth"] == "Bearer k3y"
        assert {k: seen[0][k] for k in ("model", "stream", "max_tokens", "temperature", "frequency_penalty")} == {
            "model": "smol", "stream": True, "max_tokens": 7, "temperature": 0.0, "frequency_penalty": 0.5,
        }  # fmt: skip
        assert seen[0]["messages"] == MESSAGES
    finally:
        await model.close()


@pytest.mark.parametrize("client", ["hub", "direct"])
async def test_a_whole_answer_turns_http_errors_and_garbage_into_model_errors(
    client: Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_data("overloaded", status=503)
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_data("{not json")
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(
        {"error": "CUDA out of memory"}
    )
    model = ChatModel(httpserver.url_for("/v1"), model="m", client=client)
    try:
        with pytest.raises(ModelUnavailable, match=r"(?s)503.*overloaded"):
            await model.complete(MESSAGES)
        with pytest.raises(ModelUnavailable, match="JSONDecodeError"):
            await model.complete(MESSAGES)
        with pytest.raises(ModelUnavailable, match="CUDA out of memory"):
            await model.complete(MESSAGES)
        with pytest.raises(ModelUnavailable, match="circuit open"):  # the fourth call never leaves
            await model.complete(MESSAGES)
    finally:
        await model.close()


def _whole_answers(httpserver: HTTPServer) -> list[dict[str, object]]:
    """Answer every chat completion with "Hi." in one response; returns the request bodies seen."""
    seen: list[dict[str, object]] = []

    def handler(request: Request) -> Response:
        seen.append(request.get_json())
        out = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}}]}
        return Response(json.dumps(out), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(handler)
    return seen


@pytest.mark.parametrize("client", ["hub", "direct"])
async def test_a_whole_answer_sends_the_streamed_request_without_streaming(
    client: Client, httpserver: HTTPServer
) -> None:
    seen = _whole_answers(httpserver)
    model = ChatModel(httpserver.url_for("/v1"), model="smol", client=client)
    try:
        done = await model.complete(MESSAGES, max_tokens=7, temperature=0.0, frequency_penalty=0.5)
        assert (done.text, done.completion_tokens) == ("Hi.", 0)  # no usage reported: 0, not a guess
        assert not seen[0].get("stream")
        assert {k: seen[0][k] for k in ("model", "max_tokens", "temperature", "frequency_penalty")} == {
            "model": "smol", "max_tokens": 7, "temperature": 0.0, "frequency_penalty": 0.5,
        }  # fmt: skip
    finally:
        await model.close()


@pytest.mark.parametrize("client", ["hub", "direct"])
async def test_a_seed_goes_with_every_request_only_when_set(client: Client, httpserver: HTTPServer) -> None:
    seen = _whole_answers(httpserver)
    seeded = ChatModel(httpserver.url_for("/v1"), model="smol", client=client, seed=7)
    unseeded = ChatModel(httpserver.url_for("/v1"), model="smol", client=client)
    try:
        await seeded.complete(MESSAGES)
        await unseeded.complete(MESSAGES)
        assert seen[0].get("seed") == 7 and "seed" not in seen[1]
    finally:
        await seeded.close()
        await unseeded.close()


@pytest.mark.parametrize("client", ["hub", "direct"])
async def test_the_machines_hugging_face_token_never_goes_to_the_endpoint(
    client: Client, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub sends the machine's own token (HF_TOKEN, or its token file) when it is given
    no key; a model endpoint is any URL an operator configures, so only the configured key goes."""
    monkeypatch.setenv("HF_TOKEN", "hf_the_operators_own")
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        if request.get_json().get("stream"):
            return Response(_sse(_chunk("Hi."), "[DONE]"), content_type="text/event-stream")
        out = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}}]}
        return Response(json.dumps(out), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(handler)
    for key in (None, "k3y"):
        model = ChatModel(httpserver.url_for("/v1"), model="smol", api_key=key, client=client)
        try:
            assert (await model.complete(MESSAGES)).text == "Hi."
            assert await _answer(model) == "Hi."
        finally:
            await model.close()
    assert not any("hf_the_operators_own" in (auth or "") for auth in seen), seen
    assert seen[2:] == ["Bearer k3y", "Bearer k3y"]


async def test_the_router_llm_and_synthesis_send_their_own_keys_only(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.aggregator.app import synthesizer
    from services.aggregator.settings import AggregatorSettings
    from services.router.app import router_llm
    from services.router.settings import RouterSettings

    monkeypatch.setenv("HF_TOKEN", "hf_the_operators_own")
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        out = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "travel"}}]}
        return Response(json.dumps(out), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(handler)
    url = httpserver.url_for("/v1")
    for key in ("r-key", None):
        llm = router_llm(RouterSettings(router_llm=url, router_llm_api_key=key))
        assert llm is not None
        try:
            assert (
                await llm.choose("bags?", ["travel", "fintech"], {"travel": "trips", "fintech": "money"})
                == "travel"
            )
        finally:
            await llm.model.close()
    for key in ("s-key", None):
        merger = synthesizer(AggregatorSettings(synthesis=url, synthesis_api_key=key))
        assert merger is not None
        try:
            assert (await merger.model.complete(MESSAGES)).text == "travel"
        finally:
            await merger.model.close()
    assert seen == ["Bearer r-key", "", "Bearer s-key", ""]
    assert router_llm(RouterSettings()) is None and synthesizer(AggregatorSettings()) is None
