"""`accel ingest` and `accel forget` on the embedded store, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.settings import REPO_ROOT
from tests.helpers.pdf import write_pdf


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCEL_")}
    env.update(COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "accel.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env=env,
    )


def test_ingest_is_idempotent_and_forget_deletes_one_document(tmp_path: Path) -> None:
    docs, data = tmp_path / "docs", tmp_path / "state"
    docs.mkdir()
    (docs / "lounges.md").write_text("# Lounges\n\nGold members may use airport lounges with one guest.\n")
    (docs / "pets.txt").write_text("Small pets travel in the cabin in a soft carrier under 8 kg.\n")

    first = run("ingest", "travel", str(docs), "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout, first.stdout
    again = run("ingest", "travel", str(docs), "--data-dir", str(data))
    assert again.returncode == 0 and "2 unchanged" in again.stdout, again.stdout
    (docs / "pets.txt").write_text("Small pets travel in the cabin in a soft carrier under 10 kg.\n")
    changed = run("ingest", "travel", str(docs), "--data-dir", str(data))
    assert "1 updated" in changed.stdout and "1 unchanged" in changed.stdout, changed.stdout

    gone = run("forget", "travel", "pets.txt", "--data-dir", str(data))
    assert gone.returncode == 0 and "removed pets.txt" in gone.stdout, gone.stdout + gone.stderr
    missing = run("forget", "travel", "pets.txt", "--data-dir", str(data))
    assert missing.returncode != 0 and "pets.txt" in missing.stdout + missing.stderr

    write_pdf(docs / "insurance.pdf", [["Travel Protect covers cancellation for illness."]])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nnot a PDF body")
    pdfs = run("ingest", "travel", str(docs), "--data-dir", str(data))
    assert pdfs.returncode == 0, pdfs.stderr
    # the PDF, and pets.txt again (forgotten above)
    assert "2 added" in pdfs.stdout and "1 skipped (no text read)" in pdfs.stdout, pdfs.stdout
    assert "skipped:" in pdfs.stderr and "broken.pdf: not a readable PDF" in pdfs.stderr, pdfs.stderr

    nowhere = run("ingest", "travel", str(tmp_path / "nope"), "--data-dir", str(data))
    assert nowhere.returncode != 0 and "nope" in nowhere.stdout + nowhere.stderr


def test_ingest_warns_when_the_domain_is_not_configured(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lounges.md").write_text("# Lounges\n\nGold members may use airport lounges with one guest.\n")
    typo = run("ingest", "travle", str(docs), "--data-dir", str(tmp_path / "state"))
    assert typo.returncode == 0 and "1 added" in typo.stdout, typo.stdout + typo.stderr
    said = " ".join(typo.stderr.split())
    assert "warning: 'travle' is not a domain under" in said and "ecommerce, fintech, media" in said, said
    right = run("ingest", "travel", str(docs), "--data-dir", str(tmp_path / "state"))
    assert right.returncode == 0 and "warning" not in right.stderr, right.stderr
