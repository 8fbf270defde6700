"""The inference client path: one OpenAI-compatible Messages API at a configurable base URL.

The same code talks to Hugging Face TGI in production and to llama.cpp's ``llama-server`` in the
embedded stack (both serve ``/v1/chat/completions``). Whole completions (the router LLM, synthesis,
and the domains' answers to callers that do not stream) go through huggingface_hub's
``AsyncInferenceClient``. Streamed answers, the domains' hot path, read
the same endpoint's server-sent events directly with httpx2, the HTTP client that huggingface_hub
itself uses: the hub parses every streamed token into nested dataclasses (each chunk's
``__post_init__`` runs ``dataclasses.asdict``), which was 30% of a domain's CPU under load, and it
keeps every streamed response open on its exit stack until the client closes (~15 KB a call).
Reading the events ourselves is plain ``json.loads`` per token (~60% less CPU a stream, ``python -m
bench model-client``). A domain task with no stream subject asks for the whole answer instead: one
response to parse, not one event a token.

A small circuit breaker keeps a dead endpoint from being hammered: after ``failure_threshold``
consecutive failures, calls fail fast for ``reset_after_s`` before one trial call is let through.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx2
from huggingface_hub import AsyncInferenceClient


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
        self, base_url: str, *, model: str = "tgi", timeout_s: float = 60.0, api_key: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.url = chat_completions_url(self.base_url)
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx2.AsyncClient(timeout=timeout_s, headers=headers)
        # Given no key, the hub sends this machine's own Hugging Face token (HF_TOKEN or its token
        # file) to whatever endpoint is configured; its own headers yield to explicit ones.
        self._client = AsyncInferenceClient(
            base_url=self.base_url,
            timeout=timeout_s,
            api_key=api_key,
            headers=headers or {"authorization": ""},
        )
        self.breaker = CircuitBreaker()

    async def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 256,
        temperature: float = 0.2,
        frequency_penalty: float | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yields text deltas as the model produces them."""
        self.breaker.check(self.base_url)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if frequency_penalty is not None:
            body["frequency_penalty"] = frequency_penalty
        try:
            async with self._http.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    detail = (await response.aread())[:300].decode("utf-8", "replace")
                    raise ModelUnavailable(
                        f"model endpoint {self.base_url} answered HTTP {response.status_code}: {detail}"
                    )
                async for line in response.aiter_lines():
                    delta = _delta(line)
                    if delta is None:
                        break
                    if delta:
                        yield delta
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except Exception as exc:
            self.breaker.failure()
            raise ModelUnavailable(
                f"model endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.breaker.success()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        frequency_penalty: float | None = None,
    ) -> Completion:
        """The whole answer in one response (the request ``stream`` sends, unstreamed)."""
        self.breaker.check(self.base_url)
        try:
            out = await self._client.chat_completion(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                frequency_penalty=frequency_penalty,
                model=self.model,
            )
            if not out.choices:  # an error body parses into an output without choices, not an error
                error = out.get("error")  # the hub's outputs are dicts that keep unknown keys
                raise ModelUnavailable(
                    f"model endpoint {self.base_url} answered without a completion"
                    + (f": {error}" if error else "")
                )
            text = out.choices[0].message.content or ""
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except Exception as exc:
            self.breaker.failure()
            raise ModelUnavailable(
                f"model endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.breaker.success()
        usage = out.usage
        return Completion(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    async def close(self) -> None:
        await self._http.aclose()
        await self._client.close()
