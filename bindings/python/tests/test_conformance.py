"""Every case of the shared conformance vectors (tests/conformance/), through
``FlagSet.evaluate`` and through the OpenFeature provider with the real SDK
client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import NOW, VECTORS

import killswitch

CASES = VECTORS["cases"]


def same_json(a: Any, b: Any) -> bool:
    """Equal with the same JSON types (1 is not 1.0 nor True) and key order."""
    return json.dumps(a) == json.dumps(b)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 500


def test_every_case_through_evaluate(conformance_config) -> None:
    flags = killswitch.FlagSet.load(conformance_config)
    failures = []
    for case in CASES:
        d = flags.evaluate(case["flag"], case["context"], now=VECTORS["now"])
        got = {
            "enabled": d.enabled,
            "variant": d.variant,
            "value": d.value,
            "reason": d.openfeature_reason,
            "engine_reason": d.reason,
            "rule": d.rule,
            "bucket": d.bucket,
        }
        want = {k: case[k] for k in got}
        if not same_json(got, want):
            failures.append((case["flag"], case["context"].get("targetingKey"), got, want))
    assert not failures, f"{len(failures)} cases differ, first: {failures[0]}"


def test_evaluate_all_agrees_with_the_cases(conformance_config) -> None:
    flags = killswitch.FlagSet.load(conformance_config)
    by_context: dict[str, dict[str, Any]] = {}
    for case in CASES:
        by_context.setdefault(json.dumps(case["context"]), {})[case["flag"]] = case
    for context, cases in by_context.items():
        decisions = flags.evaluate_all(json.loads(context), now=NOW)
        assert list(decisions) == list(cases)
        for key, d in decisions.items():
            assert same_json(d.value, cases[key]["value"])
            assert d.reason == cases[key]["engine_reason"]


@pytest.fixture
def client(conformance_config):
    openfeature = pytest.importorskip("openfeature")
    from openfeature import api

    from killswitch.openfeature import KillswitchProvider

    provider = KillswitchProvider(killswitch.FlagSet.load(conformance_config), now=lambda: NOW)
    api.set_provider(provider, domain="conformance")
    yield api.get_client(domain="conformance")
    del openfeature


def test_every_case_through_the_openfeature_client(client) -> None:
    from openfeature.evaluation_context import EvaluationContext

    failures = []
    for case in CASES:
        attributes = dict(case["context"])
        ctx = EvaluationContext(targeting_key=attributes.pop("targetingKey", None), attributes=attributes)
        value = case["value"]
        if isinstance(value, bool):
            details = client.get_boolean_details(case["flag"], not value, ctx)
        elif isinstance(value, str):
            details = client.get_string_details(case["flag"], "caller default", ctx)
        elif isinstance(value, int):
            details = client.get_integer_details(case["flag"], -1, ctx)
        elif isinstance(value, float):
            details = client.get_float_details(case["flag"], -1.5, ctx)
        else:
            # Objects, and null: a null variant resolves to the caller's default.
            details = client.get_object_details(case["flag"], {"caller": "default"}, ctx)
        want_value = {"caller": "default"} if value is None else value
        got = (details.value, details.variant, str(details.reason), details.error_code)
        want = (want_value, case["variant"], case["reason"], None)
        if not same_json(got, want):
            failures.append((case["flag"], case["context"].get("targetingKey"), got, want))
        elif details.flag_metadata.get("reason") != case["engine_reason"]:
            failures.append((case["flag"], "metadata", details.flag_metadata, case["engine_reason"]))
    assert not failures, f"{len(failures)} cases differ, first: {failures[0]}"
