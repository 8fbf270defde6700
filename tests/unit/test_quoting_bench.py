"""The quoting bench: figures for the domains' knowledge, and a clear error without any."""

import json
from pathlib import Path

import pytest

from bench.quoting import main


async def test_it_times_every_sentence_of_the_domains_knowledge(capsys: pytest.CaptureFixture[str]) -> None:
    await main(["--rounds", "1"])
    out = capsys.readouterr().out
    assert "evidence sentences of" in out and out.count("µs per sentence") == 2, out


async def test_a_folder_without_domains_or_knowledge_says_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no domain folders"):
        await main(["--domains", str(tmp_path)])
    (tmp_path / "empty").mkdir()
    examples = json.dumps([f"Question number {n} about nothing?" for n in range(5)])
    (tmp_path / "empty" / "domain.toml").write_text(
        f'name = "empty"\ndescription = "Questions about nothing at all."\nexamples = {examples}\n',
        encoding="utf-8",
    )  # a domain with no knowledge folder
    with pytest.raises(SystemExit, match="no evidence sentences"):
        await main(["--domains", str(tmp_path)])
