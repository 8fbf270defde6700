"""Router settings (``ACCEL_*`` variables)."""

from pathlib import Path

from pydantic import Field

from shared.settings import DEFAULT_DOMAINS_DIR, EmbeddingSettings


class RouterSettings(EmbeddingSettings):
    domains_dir: Path = Field(default=DEFAULT_DOMAINS_DIR, description="Folder of domain definitions.")
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_dir: Path | None = Field(
        default=Path(".accel/cache"), description="Where training embeddings are cached (none: no cache)."
    )
    max_query_chars: int = Field(default=2000, ge=1, description="Longer queries are rejected as oversize.")
    plan_timeout_s: float = Field(default=2.0, gt=0, description="How long to wait for an aggregator.")
    direct_plans: bool = Field(
        default=True,
        description="Send each plan straight to an aggregator replica that announced itself, and "
        "dispatch its tasks at the same time; off: wait for the aggregator queue group to accept "
        "the plan, then dispatch.",
    )
    max_deadline_s: float = Field(
        default=300.0, gt=0, description="Later deadlines are brought forward to this."
    )
    history_turns: int = Field(default=4, ge=0, description="Recent turns used for follow-ups and handed on.")
    context_budget_tokens: int = Field(
        default=400, ge=0, description="Conversation tokens handed to each domain (role-aware, newest first)."
    )
    use_knowledge: bool = Field(default=True, description="Learn from the domains' knowledge documents too.")
    tiered: bool = Field(
        default=False,
        description="Answer confident queries with distilled static embeddings first; the full model "
        "handles the rest (see tier1_tolerance for the speed/accuracy trade).",
    )
    tier1_tolerance: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Held-out accuracy the first tier may give up against the full model on the queries "
        "it answers. 0: only where it is as good; more: faster and less accurate (README: the router).",
    )
    max_false_rejection: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="Share of held-out example utterances the out-of-scope guard may reject. When the "
        "shipped background of everyday questions rejects more of a domain's own examples (domains of "
        "general questions: health, law, personal finance), the guard is relaxed until it does not.",
    )
    max_examples: int | None = Field(
        default=None,
        ge=1,
        description="Learn from at most this many example utterances per domain (the first ones): to "
        "check how the router does with a domain configured from few examples.",
    )
    router_llm: str = Field(
        default="off",
        description="When the fast path is unsure ask an LLM: 'off', 'embedded' (the local llama-server) "
        "or a TGI base URL.",
    )
    router_llm_model: str = "tgi"
    router_llm_api_key: str | None = Field(
        default=None, description="Bearer token for the router LLM's endpoint, if it needs one."
    )
    embedded_model_url: str = "http://127.0.0.1:8080/v1"
