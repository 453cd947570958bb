"""Evaluations per second from Python, for the specification's flag
(tests/fixtures/spec_flag.json: allow internal non-legacy users, deny legacy,
20 % rollout), in one run:

- killswitch: ``FlagSet.evaluate(key, dict)`` (context conversion, the
  engine, a ``Decision`` object), and ``.enabled`` read;
- plain Python: the same logic written by hand (hashlib's SHA-256 of
  user id + flag key, first 4 bytes big-endian % 100 < 20, plus the rules);
- Unleash's engine, ``yggdrasil-engine`` (``check_enabled``), when it is
  installed: the same rules as strategy constraints and a 20 % flexible
  rollout (its own hash, so other users are in the 20 %).

Run from a release install (what ``pip install bindings/python`` builds)::

    python -m venv /tmp/bench && /tmp/bench/bin/pip install bindings/python yggdrasil-engine==2.0.0
    /tmp/bench/bin/python bindings/python/bench/bench.py
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import platform
import time
from collections.abc import Callable
from typing import Any

import killswitch

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = json.loads((ROOT / "tests" / "fixtures" / "spec_flag.json").read_text())
KEY = SPEC["flag_key"]
USERS = 1000
EVALUATIONS = int(os.environ.get("BENCH_EVALUATIONS", "200000"))
REPEATS = 3


def contexts() -> list[dict[str, Any]]:
    """Users on every path: internal (allowed), legacy (denied), others
    (rollout), as a service would pass them."""
    out = []
    for i in range(USERS):
        ctx: dict[str, Any] = {"targetingKey": f"user-{i}"}
        ctx["email"] = f"u{i}@internal.com" if i % 10 == 0 else f"u{i}@example.com"
        if i % 7 == 0:
            ctx["segment"] = "legacy"
        elif i % 3 == 0:
            ctx["segment"] = "beta"
        out.append(ctx)
    return out


def plain_python(flag: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The specification's evaluation order, by hand."""
    key = flag["flag_key"]
    percentage = flag["rollout_percentage"]
    kill_switch = flag["kill_switch"]
    enabled = flag["enabled"]

    def evaluate(ctx: dict[str, Any]) -> bool:
        if kill_switch or not enabled:
            return False
        email = ctx.get("email")
        segment = ctx.get("segment")
        if isinstance(email, str) and email.endswith("@internal.com") and segment != "legacy":
            return True
        if segment == "legacy":
            return False
        user = ctx.get("targetingKey")
        if not isinstance(user, str):
            return False
        digest = hashlib.sha256((user + key).encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < percentage

    return evaluate


def unleash_state() -> str:
    """The specification's flag as an Unleash feature: an allow strategy with
    constraints, and a 20 % flexible rollout for everyone not legacy."""
    not_legacy = {"contextName": "segment", "operator": "NOT_IN", "values": ["legacy"]}
    internal = {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@internal.com"]}
    return json.dumps(
        {
            "version": 2,
            "features": [
                {
                    "name": KEY,
                    "enabled": True,
                    "strategies": [
                        {"name": "default", "parameters": {}, "constraints": [internal, not_legacy]},
                        {
                            "name": "flexibleRollout",
                            "parameters": {"rollout": "20", "stickiness": "userId", "groupId": KEY},
                            "constraints": [not_legacy],
                        },
                    ],
                }
            ],
        }
    )


def measure(evaluate: Callable[[dict[str, Any]], bool], pool: list[dict[str, Any]]) -> float:
    """The best of a few runs, in evaluations per second of this process's
    CPU time (not wall time: on a busy shared machine the process is often
    waiting for a core, which says nothing about the code)."""
    n = len(pool)
    best = 0.0
    for _ in range(REPEATS):
        start = time.process_time()
        for i in range(EVALUATIONS):
            evaluate(pool[i % n])
        elapsed = time.process_time() - start
        best = max(best, EVALUATIONS / elapsed)
    return best


def main() -> None:
    pool = contexts()
    flags = killswitch.FlagSet.load(ROOT / "tests" / "fixtures" / "spec_flag.json")
    plain = plain_python(SPEC)

    def with_killswitch(ctx: dict[str, Any]) -> bool:
        return flags.evaluate(KEY, ctx).enabled

    # The two implementations agree on every user.
    assert all(with_killswitch(c) == plain(c) for c in pool)
    on = sum(with_killswitch(c) for c in pool)

    rows = [("killswitch (FlagSet.evaluate)", measure(with_killswitch, pool), on)]
    rows.append(("plain Python (hashlib)", measure(plain, pool), on))

    try:
        from yggdrasil_engine.engine import UnleashEngine
    except ImportError:
        UnleashEngine = None
    if UnleashEngine is not None:
        engine = UnleashEngine()
        engine.take_state(unleash_state())
        unleash_pool = [
            {
                "userId": c["targetingKey"],
                "properties": {k: v for k, v in c.items() if k in ("email", "segment")},
            }
            for c in pool
        ]

        def with_unleash(ctx: dict[str, Any]) -> bool:
            return engine.check_enabled(KEY, ctx).is_enabled

        unleash_on = sum(with_unleash(c) for c in unleash_pool)
        rows.append(("yggdrasil-engine 2.0 (check_enabled)", measure(with_unleash, unleash_pool), unleash_on))
    else:
        rows.append(("yggdrasil-engine: not installed", 0.0, 0))

    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; {EVALUATIONS:,} evaluations over {USERS:,} users, "
          f"best of {REPEATS}, CPU time")
    print(f"{'implementation':<40} {'evaluations/s':>14} {'ns/evaluation':>14} {'users on':>9}")
    for name, rate, users_on in rows:
        ns = f"{1e9 / rate:,.0f}" if rate else "-"
        print(f"{name:<40} {rate:>14,.0f} {ns:>14} {users_on:>9}")


if __name__ == "__main__":
    main()
