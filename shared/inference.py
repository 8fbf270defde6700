"""The one inference client path: huggingface_hub's AsyncInferenceClient at a configurable base URL.

The same code talks to Hugging Face TGI's Messages API in production and to llama.cpp's
``llama-server`` in the embedded stack (both serve ``/v1/chat/completions``). A small circuit breaker
keeps a dead endpoint from being hammered: after ``failure_threshold`` consecutive failures, calls
fail fast for ``reset_after_s`` before one trial call is let through.

AsyncInferenceClient keeps every streamed response on its exit stack until the client is closed
(huggingface_hub 1.x), about 15 KB a call: a domain service that streams for weeks would grow
without bound. ChatModel therefore moves to a fresh client every ``recycle_after`` streamed calls
and closes the old one once its last stream ends. Connections are still reused within a client.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

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


class ChatModel:
    """A chat model behind an OpenAI-compatible Messages API (TGI or llama-server)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "tgi",
        timeout_s: float = 60.0,
        api_key: str | None = None,
        recycle_after: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._timeout_s = timeout_s
        self._api_key = api_key
        self.recycle_after = recycle_after
        self._client = self._new_client()
        self._streams_on_client = 0
        self._active: dict[AsyncInferenceClient, int] = {}  # streams in flight per client
        self._retiring: set[AsyncInferenceClient] = set()
        self.breaker = CircuitBreaker()

    def _new_client(self) -> AsyncInferenceClient:
        return AsyncInferenceClient(base_url=self.base_url, timeout=self._timeout_s, api_key=self._api_key)

    def _checkout(self) -> AsyncInferenceClient:
        client = self._client
        self._active[client] = self._active.get(client, 0) + 1
        self._streams_on_client += 1
        if self._streams_on_client >= self.recycle_after:
            self._retiring.add(client)
            self._client = self._new_client()
            self._streams_on_client = 0
        return client

    async def _checkin(self, client: AsyncInferenceClient) -> None:
        self._active[client] -= 1
        if self._active[client] == 0:
            del self._active[client]
            if client in self._retiring:
                self._retiring.discard(client)
                await client.close()

    async def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 256,
        temperature: float = 0.2,
        frequency_penalty: float | None = None,
    ) -> AsyncIterator[str]:
        """Yields text deltas as the model produces them."""
        self.breaker.check(self.base_url)
        client = self._checkout()
        try:
            chunks = await client.chat_completion(
                messages,
                stream=True,
                max_tokens=max_tokens,
                temperature=temperature,
                frequency_penalty=frequency_penalty,
                model=self.model,
            )
            async for chunk in chunks:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta
        except Exception as exc:
            self.breaker.failure()
            raise ModelUnavailable(
                f"model endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            await self._checkin(client)
        self.breaker.success()

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int = 64, temperature: float = 0.0
    ) -> Completion:
        self.breaker.check(self.base_url)
        try:
            out = await self._client.chat_completion(
                messages, max_tokens=max_tokens, temperature=temperature, model=self.model
            )
        except Exception as exc:
            self.breaker.failure()
            raise ModelUnavailable(
                f"model endpoint {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.breaker.success()
        usage = out.usage
        return Completion(
            text=out.choices[0].message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    async def close(self) -> None:
        for client in {self._client, *self._retiring, *self._active}:
            await client.close()
        self._retiring.clear()
        self._active.clear()
