"""`accel route` and `accel router eval`: the router's tuning tools, run as a team would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT

DATA_DIR = REPO_ROOT / ".accel"  # shares the cached training embeddings with the other tests


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accel.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )


def test_route_reads_json_lines_and_writes_one_decision_per_line() -> None:
    lines = [
        {"id": "a", "text": "What is the checked baggage allowance on an economy ticket?"},
        {"id": "b", "text": "Book a hotel in Lisbon for Friday and what is the EUR to USD rate?"},
        {"id": "c", "text": "Explain the offside rule in football"},
        {"id": "d", "text": ""},
        {"id": "e", "text": "How do I activate an eSIM? Also what is the capital of Australia?"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    done = run("route", "--domains", str(DEFAULT_DOMAINS_DIR), "--data-dir", str(DATA_DIR), stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_id = {o["id"]: o for o in out if "id" in o}
    assert [r["domain"] for r in by_id["a"]["routes"]] == ["travel"] and not by_id["a"]["rejected"]
    assert {r["domain"] for r in by_id["b"]["routes"]} == {"travel", "fintech"}
    assert all(r["sub_query"] and 0 <= r["score"] <= 1 for r in by_id["b"]["routes"])
    assert by_id["c"]["rejected"] and by_id["c"]["reason_code"] == "out_of_scope"
    assert by_id["d"]["rejected"] and by_id["d"]["reason_code"] == "empty"
    assert by_id["e"]["declined"] == ["What is the capital of Australia?"] and not by_id["b"]["declined"]
    assert [r["domain"] for r in by_id["e"]["routes"]] == ["mobile"]
    assert any(o.get("line") == 6 and "error" in o for o in out)  # a bad line is reported, not fatal


def test_router_eval_prints_the_figures(tmp_path: Path) -> None:
    data = tmp_path / "labeled.jsonl"
    rows = [
        {"id": "1", "text": "What is the checked baggage allowance on an economy ticket?", "domains": ["travel"]},
        {"id": "2", "text": "How do I activate an eSIM on my phone?", "domains": ["mobile"]},
        {"id": "3", "text": "Explain the offside rule in football", "domains": []},
        {"id": "4", "text": "Book a hotel in Lisbon for Friday and what is the EUR to USD rate?",
         "domains": ["travel", "fintech"]},
    ]  # fmt: skip
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    done = run("router", "eval", "--domains", str(DEFAULT_DOMAINS_DIR), "--data", str(data),
               "--data-dir", str(DATA_DIR), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 4 and report["counts"] == {"single": 2, "multi": 1, "oos": 1}
    for key in ("in_scope_accuracy", "oos_recall", "oos_precision", "harmonic_mean", "multi_exact"):
        assert 0 <= report[key] <= 1, key
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    confusion = report["confusion"]  # gold label -> predicted label -> count
    assert set(confusion) == {"travel", "mobile", "oos", "multi"}
    assert sum(n for row in confusion.values() for n in row.values()) == 4
    table = run("router", "eval", "--data", str(data), "--data-dir", str(DATA_DIR))
    assert table.returncode == 0 and "confusion" in table.stdout.lower(), table.stdout
    assert "calibration (3-fold on" in table.stdout and "background lines" in table.stdout
    missing = run("router", "eval", "--data", str(tmp_path / "nope.jsonl"), "--data-dir", str(DATA_DIR))
    assert missing.returncode != 0 and "nope.jsonl" in (missing.stdout + missing.stderr)


def test_router_eval_says_what_is_wrong_with_the_labels(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    done = run("router", "eval", "--data", str(empty), "--data-dir", str(DATA_DIR))
    said = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
    assert done.returncode != 0 and "no labelled queries" in said, said
    assert "Traceback" not in done.stderr
    typo = tmp_path / "typo.jsonl"
    rows = [
        {"id": "1", "text": "What is the checked baggage allowance on an economy ticket?", "domains": ["travle"]},
        {"id": "2", "text": "Explain the offside rule in football", "domain": "oos"},  # CLINC150's label
    ]  # fmt: skip
    typo.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    done = run("router", "eval", "--domains", str(DEFAULT_DOMAINS_DIR), "--data", str(typo),
               "--data-dir", str(DATA_DIR))  # fmt: skip
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0 and "'travle' (ids 1)" in said and "Configured: ecommerce, fintech" in said, (
        said
    )
    assert "Traceback" not in done.stderr
