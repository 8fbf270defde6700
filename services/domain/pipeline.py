"""The domain's answering pipeline: retrieve, judge the evidence, answer with citations, stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from opentelemetry import trace

from contracts import DomainAnswer, DomainTask, Passage, RetrievalRequest, RetrievalResult, TokenDelta, Usage
from contracts.messages import utcnow
from services.domain import prompts
from services.domain.settings import DomainSettings
from shared.domains import DomainDefinition
from shared.inference import ChatModel, ModelUnavailable

Retrieve = Callable[[RetrievalRequest, float], Awaitable[RetrievalResult]]
PublishDelta = Callable[[str, TokenDelta], Awaitable[None]]

tracer = trace.get_tracer("accel.domain")


class RetrievalFailed(Exception):
    """The retriever could not be reached or answered with an error."""


class DomainPipeline:
    def __init__(
        self,
        domain: DomainDefinition,
        settings: DomainSettings,
        model: ChatModel,
        retrieve: Retrieve,
        publish_delta: PublishDelta,
    ) -> None:
        self.domain = domain
        self.settings = settings
        self.model = model
        self.retrieve = retrieve
        self.publish_delta = publish_delta

    def _answer(self, task: DomainTask, **fields: object) -> DomainAnswer:
        return DomainAnswer(
            query_id=task.query_id,
            conversation_id=task.conversation_id,
            tenant_id=task.tenant_id,
            deadline=task.deadline,
            task_id=task.task_id,
            domain=task.domain,
            sub_query=task.sub_query,
            model=self.model.model,
            **fields,
        )

    async def run(self, task: DomainTask) -> DomainAnswer:
        remaining = (task.deadline - utcnow()).total_seconds() - 0.1
        if remaining <= 0:
            return self._answer(task, status="failed", text="", error="the deadline passed before work began")
        timings: dict[str, float] = {}
        text_parts: list[str] = []
        try:
            async with asyncio.timeout(remaining):
                return await self._run(task, timings, text_parts)
        except TimeoutError:
            return self._answer(
                task,
                status="failed",
                text="".join(text_parts),
                error=f"the {self.domain.name} domain ran out of time at the deadline",
                timings_ms=timings,
            )
        except (ModelUnavailable, RetrievalFailed) as exc:
            return self._answer(task, status="failed", text="", error=str(exc), timings_ms=timings)

    async def _run(self, task: DomainTask, timings: dict[str, float], text_parts: list[str]) -> DomainAnswer:
        t0 = time.perf_counter()
        with tracer.start_as_current_span("retrieve") as span:
            result = await self.retrieve(
                RetrievalRequest(
                    query_id=task.query_id,
                    tenant_id="default",
                    domain=task.domain,
                    query=task.sub_query,
                    top_k=self.settings.top_k,
                ),
                self.settings.retrieve_timeout_s,
            )
            span.set_attribute("accel.retrieval.hits", len(result.passages))
        timings["retrieve"] = round((time.perf_counter() - t0) * 1000, 2)
        evidence: list[Passage] = [p for p in result.passages if p.score >= self.settings.min_passage_score]
        if not evidence:
            text = prompts.abstention(self.domain, task.sub_query)
            await self._emit(task, 0, text, done=True)
            return self._answer(task, status="abstained", text=text, timings_ms=timings)

        messages = prompts.build_messages(self.domain, task.sub_query, evidence, task.history)
        gen = self.domain.generation
        t1 = time.perf_counter()
        seq = 0
        with tracer.start_as_current_span("generate") as span:
            span.set_attribute("gen_ai.request.model", self.model.model)
            async for delta in self.model.stream(
                messages,
                max_tokens=gen.max_tokens,
                temperature=gen.temperature,
                frequency_penalty=gen.frequency_penalty,
            ):
                if seq == 0:
                    timings["ttft"] = round((time.perf_counter() - t1) * 1000, 2)
                text_parts.append(delta)
                await self._emit(task, seq, delta)
                seq += 1
            span.set_attribute("gen_ai.usage.output_tokens", seq)
        await self._emit(task, seq, "", done=True)
        timings["generate"] = round((time.perf_counter() - t1) * 1000, 2)
        text = "".join(text_parts).strip()
        if not text:
            text = prompts.abstention(self.domain, task.sub_query)
            return self._answer(task, status="abstained", text=text, timings_ms=timings)
        return self._answer(
            task,
            status="answered",
            text=text,
            citations=prompts.citations(text, evidence),
            usage=Usage(prompt_tokens=0, completion_tokens=seq),
            timings_ms=timings,
        )

    async def _emit(self, task: DomainTask, seq: int, text: str, done: bool = False) -> None:
        if task.stream_subject:
            await self.publish_delta(
                task.stream_subject,
                TokenDelta(
                    query_id=task.query_id,
                    task_id=task.task_id,
                    domain=task.domain,
                    seq=seq,
                    text=text,
                    done=done,
                ),
            )
