"""Feature flags with kill switches: the killswitch engine for Python.

>>> import killswitch
>>> flags = killswitch.FlagSet.from_text(
...     '{"flag_key": "new_search_ui", "enabled": true, "rollout_percentage": 20}')
>>> flags.evaluate("new_search_ui", {"targetingKey": "user_123"}).bucket
45

The engine is Rust (the ``killswitch`` crate); this package converts at the
edge and adds nothing of its own, except the OpenFeature provider in
:mod:`killswitch.openfeature` (``pip install "killswitch[openfeature]"``).
"""

from ._killswitch import (
    CheckReport,
    ConfigError,
    ContextError,
    Decision,
    Diagnostic,
    FlagSet,
    KillswitchError,
    Store,
    StoreStatus,
    bucket,
    check,
)

__all__ = [
    "CheckReport",
    "ConfigError",
    "ContextError",
    "Decision",
    "Diagnostic",
    "FlagSet",
    "KillswitchError",
    "Store",
    "StoreStatus",
    "bucket",
    "check",
]
