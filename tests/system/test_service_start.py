"""A service started with a bad configuration says what is wrong in one line and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.settings import REPO_ROOT


def start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ACCEL_")}
    return subprocess.run(
        [sys.executable, "-m", module],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={**clean, "ACCEL_NATS_URL": "nats://127.0.0.1:1", **env},
    )


def test_a_broken_domain_file_stops_the_service_with_its_name_and_fault(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "domain.toml").write_text('name = "x"\ndescription = [1, 2\n')
    done = start("services.aggregator", ACCEL_DOMAINS_DIR=str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "cannot start aggregator:" in out and "domain.toml: not valid TOML" in out, out
    assert "Traceback" not in out


def test_a_bad_setting_stops_the_service_naming_the_variable() -> None:
    done = start("services.retriever", ACCEL_EMBEDDING_CACHE="-5")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ACCEL_EMBEDDING_CACHE='-5': Input should be greater than or equal to 0" in done.stderr, (
        done.stderr
    )
    assert "Traceback" not in done.stderr
