"""The inference client path: one OpenAI-compatible Messages API at a configurable base URL.

The same code talks to Hugging Face TGI in production and to llama.cpp's ``llama-server`` in the
embedded stack (both serve ``/v1/chat/completions``). Two clients, by what the call costs:

* ``client="hub"`` (the default: the router LLM, synthesis): whole completions through
  huggingface_hub's ``AsyncInferenceClient``, the reference TGI client. These calls are rare and
  wait on generation; the client's own CPU does not matter there.
* ``client="direct"`` (the domains: a call on every query): aiohttp, with ``json.loads`` on the
  response or on each server-sent event. ``python -m bench model-client`` on the stub, CPU of the
  event loop per 48-word answer: whole, through the hub 0.76 ms, direct 0.15 ms; streamed, through
  the hub 6.75 ms, direct 1.32 ms. The hub parses every streamed token into nested dataclasses
  (each chunk's ``__post_init__`` runs ``dataclasses.asdict``) and keeps every streamed response
  open on its exit stack until the client closes.

Streams (a domain answering a caller that streams) always go the direct way.

A small circuit breaker keeps a dead endpoint from being hammered: after ``failure_threshold``
consecutive failures, calls fail fast for ``reset_after_s`` before one trial call is let through.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse, urlunparse

import aiohttp
from huggingface_hub import AsyncInferenceClient

Client = Literal["hub", "direct"]


class ModelUnavailable(Exception):
    """The model endpoint failed or its circuit is open; the message says which and why."""


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 3, reset_after_s: float = 10.0) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._failures = 0
        self._opened_at: float | None = None

    def check(self, what: str) -> None:
        if self._opened_at is None:
            return
        if time.monotonic() - self._opened_at < self.reset_after_s:
            raise ModelUnavailable(f"{what}: circuit open after {self._failures} consecutive failures")
        self._opened_at = None  # half-open: let one call try

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._opened_at = time.monotonic()


def chat_completions_url(base_url: str) -> str:
    """The Messages API route under a base URL, as huggingface_hub builds it: ``…/v1`` gets
    ``/chat/completions``, a bare server URL ``/v1/chat/completions``."""
    parsed = urlparse(base_url)
    path = parsed.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
    return urlunparse(parsed._replace(path=path))


def _delta(line: str) -> str | None:
    """The text of one server-sent event line of a streamed chat completion ("" for none), None at
    ``[DONE]``. Raises ModelUnavailable for an error event (TGI sends ``{"error": …}`` mid-stream
    when generation fails)."""
    if not line.startswith("data:"):
        return ""  # blank separators, comments, other fields
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    chunk: Any = json.loads(payload)
    if not isinstance(chunk, dict):
        raise ValueError(f"unexpected event {payload[:200]!r}")
    if chunk.get("error") is not None:
        kind = chunk.get("error_type")
        raise ModelUnavailable(f"the model failed mid-answer{f' ({kind})' if kind else ''}: {chunk['error']}")
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


class ChatModel:
    """A chat model behind an OpenAI-compatible Messages API (TGI or llama-server)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "tgi",
        timeout_s: float = 60.0,
        api_key: str | None = None,
        client: Client = "hub",
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.seed = seed  # sent with every request when set: the same prompt samples the same text
        self.model = model
        self.url = chat_completions_url(self.base_url)
        self._timeout_s = timeout_s
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._session: aiohttp.ClientSession | None = None  # made in the running loop, on first use
        # Given no key, the hub sends this machine's own Hugging Face token (HF_TOKEN or its token
        # file) to whatever endpoint is configured; its own headers yield to explicit ones.
        self._client = (
            AsyncInferenceClient(
                base_url=self.base_url,
                timeout=timeout_s,
                api_key=api_key,
                headers=self._headers or {"authorization": ""},
            )
            if client == "hub"
            else None
        )
        self.breaker = CircuitBreaker()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            )
        return self._session

    def _body(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        frequency_penalty: float | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if frequency_penalty is not None:
            body["frequency_penalty"] = frequency_penalty
        if self.seed is not None:
            body["seed"] = self.seed
        return body

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """One call through the breaker: refused while it is open; any failure counts against the
        endpoint and surfaces as ModelUnavailable; a call that completes closes it again. A
        stream its caller abandons (GeneratorExit) counts as neither."""
        self.breaker.check(self.base_url)
        try:
            yield
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except Exception as exc:
            self.breaker.failure()
            raise ModelUnavailable(
                f"model endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.breaker.success()

    async def _failed(self, response: aiohttp.ClientResponse) -> ModelUnavailable:
        detail = (await response.read())[:300].decode("utf-8", "replace")
        return ModelUnavailable(f"model endpoint {self.base_url} answered HTTP {response.status}: {detail}")

    async def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 256,
        temperature: float = 0.2,
        frequency_penalty: float | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yields text deltas as the model produces them."""
        body = {**self._body(messages, max_tokens, temperature, frequency_penalty), "stream": True}
        with self._guarded():
            async with self._http().post(self.url, json=body) as response:
                if response.status >= 400:
                    raise await self._failed(response)
                async for raw in response.content:
                    delta = _delta(raw.decode("utf-8").rstrip("\r\n"))
                    if delta is None:
                        break
                    if delta:
                        yield delta

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        frequency_penalty: float | None = None,
    ) -> Completion:
        """The whole answer in one response (the request ``stream`` sends, unstreamed)."""
        with self._guarded():
            hub = self._client
            if hub is None:
                return await self._complete_direct(messages, max_tokens, temperature, frequency_penalty)
            return await self._complete_hub(hub, messages, max_tokens, temperature, frequency_penalty)

    def _no_completion(self, error: object) -> ModelUnavailable:
        return ModelUnavailable(
            f"model endpoint {self.base_url} answered without a completion" + (f": {error}" if error else "")
        )

    async def _complete_direct(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        frequency_penalty: float | None,
    ) -> Completion:
        body = self._body(messages, max_tokens, temperature, frequency_penalty)
        async with self._http().post(self.url, json=body) as response:
            if response.status >= 400:
                raise await self._failed(response)
            out: Any = json.loads(await response.read())
        if not isinstance(out, dict):
            raise ValueError(f"unexpected response {str(out)[:200]!r}")
        choices = out.get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise self._no_completion(out.get("error"))  # an error body, e.g. TGI's {"error": …}
        text = (choices[0].get("message") or {}).get("content") or ""
        usage = out["usage"] if isinstance(out.get("usage"), dict) else {}
        return Completion(
            text=text if isinstance(text, str) else "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )

    async def _complete_hub(
        self,
        hub: AsyncInferenceClient,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        frequency_penalty: float | None,
    ) -> Completion:
        out = await hub.chat_completion(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            frequency_penalty=frequency_penalty,
            model=self.model,
            seed=self.seed,
        )
        if not out.choices:  # an error body parses into an output without choices, not an error
            raise self._no_completion(out.get("error"))  # the hub's outputs keep unknown keys
        usage = out.usage
        return Completion(
            text=out.choices[0].message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._client is not None:
            await self._client.close()
