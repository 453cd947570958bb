"""The Python API: loading, evaluating, contexts, values, time."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest

import killswitch

SPEC = """{
    "flag_key": "new_search_ui", "enabled": true, "kill_switch": false, "rollout_percentage": 20,
    "targeting_rules": {
        "allow_list": ["email endsWith \\"@internal.com\\" and not segment == \\"legacy\\""],
        "deny_list": [{"attribute": "segment", "operator": "equals", "value": "legacy"}]
    }
}"""

VARIANTS = """{"flags": [
  {"flag_key": "layout", "enabled": true, "rollout_percentage": 100,
   "variants": {"cards": {"zeta": 1, "alpha": [1.5, null, true], "mid": {"b": "x", "a": 2}}, "none": {}},
   "off_variant": "none", "on_variant": "cards"},
  {"flag_key": "limit", "enabled": true, "rollout_percentage": 100,
   "variants": {"high": 100, "low": 0.5}, "off_variant": "low", "on_variant": "high"},
  {"flag_key": "ramp", "enabled": true, "rollout_percentage": 0,
   "rollout_schedule": [{"at": "2026-12-02T09:00:00Z", "percentage": 100}]}
]}"""


def test_the_specification_example() -> None:
    flags = killswitch.FlagSet.from_text(SPEC)
    staff = flags.evaluate("new_search_ui", {"targetingKey": "ana", "email": "ana@internal.com"})
    assert (staff.enabled, staff.reason, staff.rule, staff.variant, staff.value) == (
        True,
        "allow_rule",
        0,
        "on",
        True,
    )
    legacy = flags.evaluate("new_search_ui", {"user_id": "bo", "segment": "legacy"})
    assert (legacy.enabled, legacy.reason, legacy.rule, legacy.openfeature_reason) == (
        False,
        "deny_rule",
        0,
        "TARGETING_MATCH",
    )
    user = flags.evaluate("new_search_ui", {"targetingKey": "user_123"})
    assert (user.enabled, user.reason, user.bucket, user.percentage, user.value) == (
        False,
        "out_of_rollout",
        45,
        20,
        False,
    )
    assert flags.evaluate("new_search_ui").reason == "missing_user_id"
    assert flags.evaluate("new_search_ui", None).reason == "missing_user_id"


def test_buckets_match_hashlib() -> None:
    for user, key in [("user_123", "new_search_ui"), ("Zoë", "checkout"), ("用户-7", "exp_abc")]:
        digest = hashlib.sha256((user + key).encode()).digest()
        assert killswitch.bucket(user, key) == int.from_bytes(digest[:4], "big") % 100


def test_values_keep_their_json_type_and_key_order() -> None:
    flags = killswitch.FlagSet.from_text(VARIANTS)
    layout = flags.evaluate("layout", {"targetingKey": "u1"})
    assert layout.variant == "cards"
    assert json.dumps(layout.value) == '{"zeta": 1, "alpha": [1.5, null, true], "mid": {"b": "x", "a": 2}}'
    # Each read is a new dict: changing one changes nothing else.
    layout.value["zeta"] = 2
    assert layout.value["zeta"] == 1
    limit = flags.evaluate("limit", {"targetingKey": "u1"}).value
    assert limit == 100 and type(limit) is int
    # Off serves the off variant, of its own type.
    off = flags.evaluate("layout", {})
    assert (off.enabled, off.reason, off.variant, off.value) == (False, "missing_user_id", "none", {})


def test_an_off_variant_cannot_be_null() -> None:
    # A killed flag must answer a value: null would hand the answer to each
    # caller's default, which may be True.
    config = VARIANTS.replace('"none": {}', '"none": null')
    with pytest.raises(killswitch.ConfigError) as caught:
        killswitch.FlagSet.from_text(config)
    assert 'off_variant "none" has the value null' in str(caught.value)


def test_unknown_flags_are_off() -> None:
    flags = killswitch.FlagSet.from_text(SPEC)
    d = flags.evaluate("nope", {"targetingKey": "u1"})
    assert (d.enabled, d.reason, d.variant, d.value, d.openfeature_reason) == (
        False,
        "unknown_flag",
        None,
        None,
        "ERROR",
    )
    assert "nope" not in flags and "new_search_ui" in flags
    assert flags.keys() == ["new_search_ui"] and len(flags) == 1


def test_evaluate_all_is_in_file_order() -> None:
    flags = killswitch.FlagSet.from_text(VARIANTS)
    all_ = flags.evaluate_all({"targetingKey": "u1"}, now="2026-12-01T00:00:00Z")
    assert list(all_) == ["layout", "limit", "ramp"]
    assert all_["ramp"].reason == "out_of_rollout"


def test_now_reads_the_schedule() -> None:
    flags = killswitch.FlagSet.from_text(VARIANTS)
    ctx = {"targetingKey": "u1"}
    before = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    after = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert flags.evaluate("ramp", ctx, now=before).percentage == 0
    d = flags.evaluate("ramp", ctx, now=after)
    assert (d.enabled, d.percentage, d.schedule_step) == (True, 100, 0)
    assert flags.evaluate("ramp", ctx, now="2026-12-02T09:00:00Z").enabled
    with pytest.raises(ValueError, match="time zone"):
        flags.evaluate("ramp", ctx, now=datetime.datetime(2026, 12, 2))
    with pytest.raises(ValueError, match="RFC 3339"):
        flags.evaluate("ramp", ctx, now="tomorrow")


def test_formats() -> None:
    yaml = "flag_key: f\nenabled: true\nrollout_percentage: 100\n"
    toml = 'flag_key = "f"\nenabled = true\nrollout_percentage = 100\n'
    for text, fmt in [(yaml, "yaml"), (toml, "toml"), (yaml, "YML")]:
        assert killswitch.FlagSet.from_text(text, fmt).evaluate("f", {"targetingKey": "u"}).enabled
    with pytest.raises(ValueError, match="unknown config format"):
        killswitch.FlagSet.from_text(yaml, "ini")


def test_load_goes_by_extension(tmp_path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("flag_key: f\nenabled: true\nrollout_percentage: 100\n")
    assert killswitch.FlagSet.load(path).evaluate("f", {"targetingKey": "u"}).enabled
    assert killswitch.FlagSet.load(str(path)).keys() == ["f"]


RULES = """{"flag_key": "f", "enabled": true, "targeting_rules": {"allow_list": [
  "account.plan == \\"pro\\"", "tags == \\"beta\\"", "age >= 18 and score > 0.5",
  "created after \\"2025-01-01T00:00:00Z\\"", "`device-type` == \\"ios\\""]}}"""


@pytest.mark.parametrize(
    ("context", "rule"),
    [
        ({"account": {"plan": "pro"}}, 0),
        ({"account.plan": "pro"}, 0),
        ({"tags": ["alpha", "beta"]}, 1),
        ({"tags": ("beta",)}, 1),
        ({"age": 18, "score": 0.75}, 2),
        ({"created": datetime.datetime(2025, 6, 1, tzinfo=datetime.timezone.utc)}, 3),
        ({"created": "2025-06-01T00:00:00Z"}, 3),
        ({"device-type": "ios"}, 4),
    ],
)
def test_contexts_of_every_json_type(context, rule) -> None:
    flags = killswitch.FlagSet.from_text(RULES)
    d = flags.evaluate("f", {"targetingKey": "u", **context})
    assert (d.reason, d.rule) == ("allow_rule", rule)


def test_types_are_strict() -> None:
    flags = killswitch.FlagSet.from_text(RULES)
    # "20" is not 20, True is not 1, and 2**70 is a number (a float).
    for context in [{"age": "20", "score": 1}, {"age": True, "score": 1}]:
        assert flags.evaluate("f", context).reason == "no_rollout"
    assert flags.evaluate("f", {"age": 2**70, "score": 1}).rule == 2


def test_bad_contexts_are_errors() -> None:
    flags = killswitch.FlagSet.from_text(SPEC)
    same = flags.evaluate("new_search_ui", {"targetingKey": "user_123", "user_id": "user_123"})
    assert same.bucket == 45
    cases = [
        ({"targetingKey": "a", "user_id": "b"}, "both given and differ"),
        ({"targetingKey": 7}, "`targetingKey` must be a string"),
        ({"user_id": None}, "`user_id` must be a string"),
        ({1: "x"}, "keys must be strings"),
        ({"x": {1, 2}}, "not a JSON type"),
        ({"x": {"a": object()}}, "not a JSON type"),
        ({"x": datetime.datetime(2025, 1, 1)}, "time zone"),
    ]
    for context, message in cases:
        with pytest.raises(killswitch.ContextError, match=message):
            flags.evaluate("new_search_ui", context)
    with pytest.raises(TypeError, match="must be a dict"):
        flags.evaluate("new_search_ui", [("targetingKey", "u")])  # type: ignore[arg-type]
    assert issubclass(killswitch.ContextError, killswitch.KillswitchError)


def test_nesting_is_bounded() -> None:
    flags = killswitch.FlagSet.from_text(SPEC)
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(killswitch.ContextError, match="nests deeper than 32"):
        flags.evaluate("new_search_ui", {"x": loop})
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(killswitch.ContextError, match="nests deeper"):
        flags.evaluate("new_search_ui", {"x": deep})


def test_repr() -> None:
    flags = killswitch.FlagSet.from_text(SPEC)
    d = flags.evaluate("new_search_ui", {"targetingKey": "ana", "email": "ana@internal.com"})
    assert repr(d) == '<Decision new_search_ui enabled=True reason=allow_rule 0 variant="on">'
    assert repr(flags) == "<FlagSet of 1 flags>"


def test_evaluation_from_threads() -> None:
    import concurrent.futures

    flags = killswitch.FlagSet.from_text(SPEC)

    def count(n: int) -> int:
        return sum(flags.evaluate("new_search_ui", {"targetingKey": f"u{i}"}).enabled for i in range(n))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(count, [2000] * 4))
    assert len(set(results)) == 1 and 300 < results[0] < 500
