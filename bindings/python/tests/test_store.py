"""The live store: a file followed, the last good version kept."""

from __future__ import annotations

import os
import pathlib
import time

import pytest

import killswitch

GOOD = '{"flag_key": "checkout", "enabled": true, "kill_switch": %s, "rollout_percentage": 100}'
USER = {"targetingKey": "user_123"}


def replace(path: pathlib.Path, text: str) -> None:
    """Writes as a deploy should: a temporary file, renamed over the old one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the store did not reload in time"
        time.sleep(0.01)


def test_reload_and_last_good(tmp_path) -> None:
    path = tmp_path / "flags.json"
    path.write_text(GOOD % "false")
    with killswitch.Store.watch(path, poll_interval=0.05) as store:
        assert store.version == 1 and "checkout" in store
        assert store.evaluate("checkout", USER).enabled
        status = store.status
        assert (status.version, status.flags, status.last_error, status.watching) == (1, 1, None, True)
        assert status.source == str(path)

        replace(path, GOOD % "true")
        wait_for(lambda: store.version == 2)
        killed = store.evaluate("checkout", USER)
        assert (killed.enabled, killed.reason) == (False, "kill_switch")

        # A bad write is rejected: version 2 keeps serving, the error is kept.
        replace(path, '{"flag_key": "checkout", "enabled": tru}')
        wait_for(lambda: store.status.last_error is not None)
        assert store.version == 2
        assert store.evaluate("checkout", USER).reason == "kill_switch"
        error = store.status.last_error
        assert "error[E0101]" in error and f"--> {path}:1:" in error
        assert store.status.last_error_at is not None
        with pytest.raises(killswitch.ConfigError) as caught:
            store.reload()
        assert caught.value.diagnostics[0].code == "E0101"

        replace(path, GOOD % "false")
        wait_for(lambda: store.version == 3)
        assert store.status.last_error is None
        assert store.evaluate_all(USER)["checkout"].enabled
        assert store.reload() == 3
    assert not store.status.watching


def test_start_needs_a_good_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        killswitch.Store.watch(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(killswitch.ConfigError):
        killswitch.Store.watch(bad)
    path = tmp_path / "later.json"
    store = killswitch.Store.watch(path, allow_missing=True, poll_interval=0.05)
    try:
        assert store.version == 0
        assert store.evaluate("checkout", USER).reason == "unknown_flag"
        replace(path, GOOD % "false")
        wait_for(lambda: store.version == 1)
        assert store.evaluate("checkout", USER).enabled
    finally:
        store.close()
