"""The OpenFeature provider through the real SDK client: the service's
mapping of decisions, reasons and errors."""

from __future__ import annotations

import os
import pathlib
import time

import pytest

pytest.importorskip("openfeature")

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

import killswitch
from killswitch.openfeature import KillswitchProvider

CONFIG = """{"flags": [
  {"flag_key": "checkout", "enabled": true, "kill_switch": true, "rollout_percentage": 100},
  {"flag_key": "new_search_ui", "enabled": true, "rollout_percentage": 20},
  {"flag_key": "color", "enabled": true, "kill_switch": true, "rollout_percentage": 100,
   "variants": {"red": "#f00", "grey": "#888"}, "off_variant": "grey", "on_variant": "red"},
  {"flag_key": "limit", "enabled": true, "rollout_percentage": 100,
   "variants": {"high": 100, "low": 10}, "off_variant": "low", "on_variant": "high"},
  {"flag_key": "layout", "enabled": true, "rollout_percentage": 100,
   "variants": {"cards": null, "none": {}}, "off_variant": "none", "on_variant": "cards"},
  {"flag_key": "settings", "enabled": true, "rollout_percentage": 100,
   "variants": {"on": {"b": 1, "a": [2]}, "off": {}}, "off_variant": "off", "on_variant": "on"}
]}"""

USER = EvaluationContext(targeting_key="user_123")


@pytest.fixture
def client():
    api.set_provider(KillswitchProvider(killswitch.FlagSet.from_text(CONFIG)), domain="tests")
    return api.get_client(domain="tests")


def test_a_killed_flag_is_off_even_with_a_default_of_true(client) -> None:
    details = client.get_boolean_details("checkout", True, USER)
    assert (details.value, details.reason, details.variant, details.error_code) == (
        False,
        Reason.DISABLED,
        "off",
        None,
    )
    assert details.flag_metadata["reason"] == "kill_switch"
    assert client.get_boolean_value("checkout", True) is False
    # The same for a variant flag: its off value, not the caller's.
    color = client.get_string_details("color", "#000", USER)
    assert (color.value, color.variant, color.reason) == ("#888", "grey", Reason.DISABLED)


def test_rollout_and_metadata(client) -> None:
    details = client.get_boolean_details("new_search_ui", True, USER)
    assert (details.value, details.reason, details.variant) == (False, Reason.SPLIT, "off")
    assert details.flag_metadata == {"reason": "out_of_rollout", "bucket": 45, "percentage": 20}
    missing = client.get_boolean_details("new_search_ui", True, EvaluationContext())
    assert (missing.value, missing.reason) == (False, Reason.DEFAULT)
    user_id = client.get_boolean_details("new_search_ui", True, EvaluationContext(attributes={"user_id": "user_123"}))
    assert user_id.flag_metadata["bucket"] == 45


def test_typed_values(client) -> None:
    assert client.get_integer_details("limit", 0, USER).value == 100
    as_float = client.get_float_details("limit", 0.0, USER)
    assert as_float.value == 100.0 and type(as_float.value) is float
    settings = client.get_object_details("settings", {}, USER)
    assert list(settings.value) == ["b", "a"] and settings.value == {"b": 1, "a": [2]}
    # A null (on) value has no type: the caller's default, with the
    # decision. (An off variant cannot be null: the config is refused.)
    layout = client.get_object_details("layout", {"default": True}, USER)
    assert (layout.value, layout.variant, layout.error_code) == ({"default": True}, "cards", None)
    assert layout.reason != Reason.ERROR


def test_errors(client) -> None:
    missing = client.get_boolean_details("nope", True, USER)
    assert (missing.value, missing.reason, missing.error_code) == (True, Reason.ERROR, ErrorCode.FLAG_NOT_FOUND)
    mismatch = client.get_string_details("checkout", "x", USER)
    assert (mismatch.value, mismatch.error_code) == ("x", ErrorCode.TYPE_MISMATCH)
    assert client.get_integer_details("color", 7, USER).error_code == ErrorCode.TYPE_MISMATCH
    assert client.get_boolean_details("limit", True, USER).error_code == ErrorCode.TYPE_MISMATCH
    conflict = EvaluationContext(targeting_key="a", attributes={"user_id": "b"})
    invalid = client.get_boolean_details("new_search_ui", True, conflict)
    assert (invalid.value, invalid.error_code) == (True, ErrorCode.INVALID_CONTEXT)
    assert "differ" in (invalid.error_message or "")


def test_a_file_provider_follows_the_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text('{"flag_key": "checkout", "enabled": true, "rollout_percentage": 100}')
    provider = KillswitchProvider(path, poll_interval=0.05)
    api.set_provider(provider, domain="file")
    client = api.get_client(domain="file")
    try:
        on = client.get_boolean_details("checkout", False, USER)
        assert (on.value, on.flag_metadata["config_version"]) == (True, 1)
        tmp = tmp_path / "flags.json.tmp"
        tmp.write_text('{"flag_key": "checkout", "enabled": true, "kill_switch": true, "rollout_percentage": 100}')
        os.replace(tmp, path)
        deadline = time.monotonic() + 10
        while client.get_boolean_value("checkout", True, USER):
            assert time.monotonic() < deadline, "the kill switch was not seen"
            time.sleep(0.01)
        assert client.get_boolean_details("checkout", True, USER).reason == Reason.DISABLED
    finally:
        api.clear_providers()
