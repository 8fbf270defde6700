"""Domain definitions: one folder per domain with ``domain.toml`` and a ``knowledge/`` folder.

Adding a domain is adding a folder: no code. The same files configure the router (description and
example utterances), the domain service (generation settings) and the retriever (knowledge).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EMBEDDED_ENDPOINT = "embedded"
MIN_EXAMPLES = 5


class DomainConfigError(ValueError):
    """A domain folder is missing or malformed; the message names the file and the problem."""


class Generation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(
        default=EMBEDDED_ENDPOINT,
        description="Base URL of a TGI / OpenAI-compatible server, or 'embedded' for the local llama-server.",
    )
    model: str = "tgi"
    max_tokens: Annotated[int, Field(ge=1, le=4096)] = 200
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.2
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] = 0.5
    price_per_1k_prompt_tokens: Annotated[float, Field(ge=0.0)] = 0.0
    price_per_1k_completion_tokens: Annotated[float, Field(ge=0.0)] = 0.0
    system_prompt: str = (
        "Answer only from the numbered passages and cite them as [1], [2]. "
        "If the passages do not contain the answer, say that you do not know."
    )


class DomainDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    title: str = ""
    description: str = Field(min_length=10)
    examples: list[str] = Field(min_length=MIN_EXAMPLES)
    counter_examples: list[str] = Field(default_factory=list)
    generation: Generation = Field(default_factory=Generation)
    path: Path | None = Field(default=None, exclude=True)

    @property
    def display(self) -> str:
        return self.title or self.name.capitalize()

    @property
    def knowledge_dir(self) -> Path | None:
        return self.path / "knowledge" if self.path else None


def load_domain(folder: Path) -> DomainDefinition:
    file = folder / "domain.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DomainConfigError(f"{file}: missing (every domain folder needs a domain.toml)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DomainConfigError(f"{file}: not valid TOML: {exc}") from exc
    try:
        domain = DomainDefinition.model_validate({**data, "path": folder})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise DomainConfigError(f"{file}: {problems}") from exc
    if domain.name != folder.name:
        raise DomainConfigError(f"{file}: name {domain.name!r} must match its folder name {folder.name!r}")
    return domain


def load_domains(root: Path, only: list[str] | None = None) -> dict[str, DomainDefinition]:
    """All domains under ``root`` (folders with a domain.toml), by name, sorted."""
    if not root.is_dir():
        raise DomainConfigError(f"domains folder {root} does not exist")
    domains = {d.name: d for d in (load_domain(p.parent) for p in sorted(root.glob("*/domain.toml")))}
    if not domains:
        raise DomainConfigError(f"no domain folders (with a domain.toml) under {root}")
    if only:
        unknown = sorted(set(only) - set(domains))
        if unknown:
            raise DomainConfigError(f"unknown domain(s) {unknown}; configured: {sorted(domains)}")
        domains = {k: v for k, v in domains.items() if k in only}
    return domains
