"""Domain service settings (``ACCEL_*`` variables). One process serves one domain."""

from pathlib import Path

from pydantic import Field

from shared.settings import DEFAULT_DOMAINS_DIR, EmbeddingSettings


class DomainSettings(EmbeddingSettings):
    domain: str = Field(description="Which configured domain this process serves (ACCEL_DOMAIN).")
    domains_dir: Path = Field(default=DEFAULT_DOMAINS_DIR, description="Folder of domain definitions.")
    embedded_model_url: str = Field(
        default="http://127.0.0.1:8080/v1",
        description="Base URL used for domains whose endpoint is 'embedded' (the local llama-server).",
    )
    model_endpoint: str = Field(default="", description="Overrides the domain's endpoint (e.g. a TGI URL).")
    model_api_key: str | None = None
    top_k: int = Field(default=5, ge=1, le=20, description="Passages retrieved per search.")
    min_relevance: float = Field(
        default=0.35, description="Grader: passages whose best sentence is less similar are dropped."
    )
    answer_threshold: float = Field(
        default=0.40,
        description="Grader: the best evidence sentence must be this similar, or the domain abstains.",
    )
    coverage_threshold: float = Field(
        default=0.64,
        description="Grader: the kept passages must cover the question's content words this well "
        "(IDF-weighted soft token match, 0-1), or the domain abstains.",
    )
    quote_threshold: float = Field(
        default=0.55,
        description="Revision: the next best evidence sentence is quoted too when at least this similar.",
    )
    warm_coverage: bool = Field(
        default=True,
        description="Grader: compute the token vectors of the knowledge base's sentences at start "
        "(about 5 ms a sentence) instead of on first use.",
    )
    verify_overlap: float = Field(
        default=0.75,
        description="Verifier: share of a claim's content words that one evidence sentence must hold.",
    )
    claim_relevance: float = Field(
        default=0.25,
        description="Verifier: a claim counts as supported only by evidence sentences at least this "
        "similar to the question (what the passages say about something else does not answer it).",
    )
    claim_focus: float = Field(
        default=0.1,
        ge=0,
        description="Verifier: a claim must be at least as similar to the question as the best evidence "
        "sentence, less this margin (an answer sentence the passages support, about something other "
        "than what was asked, is no answer); 2 turns the check off.",
    )
    retrieve_timeout_s: float = 5.0
    max_concurrency: int = Field(default=4, ge=1, description="Tasks handled at once by this replica.")
    task_ack_wait_s: float = Field(
        default=30.0,
        ge=1.0,
        description="A task whose worker stops heartbeating for this long is redelivered to another replica "
        "(set when the domain's durable consumer is first created). Tasks waiting in a replica's local "
        "buffer (up to max_concurrency of them) are not heartbeated yet, so keep it above about twice "
        "the slowest answer.",
    )
    task_max_deliver: int = Field(default=3, ge=1, description="Deliveries of one task before it is dropped.")
