"""Domain definition files: the shipped ones load, and bad ones fail with the file named."""

from pathlib import Path

import pytest

from shared.domains import DomainConfigError, load_domains
from shared.settings import DEFAULT_DOMAINS_DIR


def test_sample_domains_are_complete() -> None:
    domains = load_domains(DEFAULT_DOMAINS_DIR)
    assert sorted(domains) == ["ecommerce", "fintech", "media", "mobile", "travel"]
    for d in domains.values():
        assert len(d.examples) >= 20
        assert d.knowledge_dir is not None
        assert len(list(d.knowledge_dir.glob("*.md"))) >= 10


def _write(root: Path, name: str, body: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "domain.toml").write_text(body)


def test_errors_name_the_file_and_problem(tmp_path: Path) -> None:
    _write(tmp_path, "bad", 'name = "bad"\ndescription = "too few examples here"\nexamples = ["a"]\n')
    with pytest.raises(DomainConfigError, match=r"bad/domain.toml: examples"):
        load_domains(tmp_path)


def test_name_must_match_folder(tmp_path: Path) -> None:
    examples = ", ".join(f'"q{i}"' for i in range(5))
    _write(tmp_path, "one", f'name = "two"\ndescription = "a fine description"\nexamples = [{examples}]\n')
    with pytest.raises(DomainConfigError, match="must match its folder"):
        load_domains(tmp_path)


def test_invalid_toml_and_missing_folder(tmp_path: Path) -> None:
    _write(tmp_path, "x", "name = ")
    with pytest.raises(DomainConfigError, match="not valid TOML"):
        load_domains(tmp_path)
    with pytest.raises(DomainConfigError, match="does not exist"):
        load_domains(tmp_path / "nope")
