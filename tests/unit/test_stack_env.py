"""The embedded stack's environment for nats-server: Go's scheduler sized to the machine."""

from __future__ import annotations

from accel.stack import nats_server_env, usable_cores


def test_nats_server_gets_a_quarter_of_the_cores_at_least_one() -> None:
    assert nats_server_env({"PATH": "/bin"}, cores=2) == {"PATH": "/bin", "GOMAXPROCS": "1"}
    assert nats_server_env({}, cores=1)["GOMAXPROCS"] == "1"
    assert nats_server_env({}, cores=16)["GOMAXPROCS"] == "4"


def test_an_operators_gomaxprocs_is_kept() -> None:
    assert nats_server_env({"GOMAXPROCS": "3"}, cores=2) == {"GOMAXPROCS": "3"}


def test_without_a_core_count_it_reads_the_machine() -> None:
    expected = str(max(1, usable_cores() // 4))
    assert nats_server_env({})["GOMAXPROCS"] == expected
    assert usable_cores() >= 1
