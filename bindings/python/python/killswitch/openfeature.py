"""An OpenFeature provider for the Python SDK (``openfeature-sdk``).

>>> from openfeature import api
>>> from killswitch.openfeature import KillswitchProvider
>>> api.set_provider(KillswitchProvider("flags.json"))  # doctest: +SKIP

It resolves flags exactly as ``killswitch serve`` answers OFREP requests:

- the value is the variant served (``True``/``False`` for a boolean flag),
  with the OpenFeature reason (``DISABLED``, ``TARGETING_MATCH``, ``SPLIT``,
  ``DEFAULT``) and the variant's name;
- a killed or disabled flag resolves to its off value with reason
  ``DISABLED``, never to the caller's default (which may be ``True``);
- an unknown flag is ``FLAG_NOT_FOUND``, a value of another type than asked
  ``TYPE_MISMATCH``, a bad context (``targetingKey`` and ``user_id``
  differing) ``INVALID_CONTEXT``: each with the caller's default;
- a variant whose value is JSON ``null`` has no value of any type: it
  resolves to the caller's default, without an error, with the decision's
  reason and variant.

``flag_metadata`` carries killswitch's own account: ``reason``
(``kill_switch``, ``in_rollout``, ...), and as they apply ``rule``,
``prerequisite``, ``bucket``, ``percentage``, ``schedule_step``,
``split_bucket``, and ``config_version`` when following a file.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagMetadata, FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from ._killswitch import ContextError, Decision, FlagSet, Store

__all__ = ["KillswitchProvider"]

ObjectValue = Union[Sequence[Any], Mapping[str, Any]]


class KillswitchProvider(AbstractProvider):
    """Resolves flags with the killswitch engine, in process.

    ``source`` is a config file (followed live: each good write is served
    from the next resolution, a bad one is rejected and the last good
    version keeps serving), a :class:`~killswitch.FlagSet` or a
    :class:`~killswitch.Store`. ``now``, when given, is the clock rollout
    schedules read (for tests and replays); ``poll_interval`` is the file's
    polling fallback, in seconds.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | FlagSet | Store,
        *,
        now: Callable[[], datetime.datetime] | None = None,
        poll_interval: float = 2.0,
    ) -> None:
        super().__init__()
        self._owned: Store | None = None
        if isinstance(source, (FlagSet, Store)):
            self._flags: FlagSet | Store = source
        else:
            self._owned = Store.watch(source, poll_interval=poll_interval)
            self._flags = self._owned
        self._now = now

    def get_metadata(self) -> Metadata:
        return Metadata(name="killswitch")

    def shutdown(self) -> None:
        if self._owned is not None:
            self._owned.close()

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, "boolean")

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, "string")

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, "integer")

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, "float")

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return self._resolve(flag_key, default_value, evaluation_context, "object")

    def _resolve(
        self,
        key: str,
        default: Any,
        evaluation_context: EvaluationContext | None,
        kind: str,
    ) -> FlagResolutionDetails[Any]:
        context = _context(evaluation_context)
        now = self._now() if self._now is not None else None
        try:
            decision = self._flags.evaluate(key, context, now=now)
        except ContextError as e:
            return _error(default, ErrorCode.INVALID_CONTEXT, str(e))
        if decision.reason == "unknown_flag":
            return _error(default, ErrorCode.FLAG_NOT_FOUND, f"no flag `{key}`")
        metadata = self._metadata(decision)
        value = decision.value
        if value is None:
            return FlagResolutionDetails(
                value=default,
                reason=decision.openfeature_reason,
                variant=decision.variant,
                flag_metadata=metadata,
            )
        typed = _typed(value, kind)
        if typed is _MISMATCH:
            return _error(
                default,
                ErrorCode.TYPE_MISMATCH,
                f"flag `{key}` serves a {type(value).__name__} "
                f"(variant `{decision.variant}`), not a {kind}",
            )
        return FlagResolutionDetails(
            value=typed,
            reason=decision.openfeature_reason,
            variant=decision.variant,
            flag_metadata=metadata,
        )

    def _metadata(self, decision: Decision) -> FlagMetadata:
        metadata: dict[str, bool | int | float | str] = {"reason": decision.reason}
        for name in ("rule", "prerequisite", "bucket", "percentage", "schedule_step", "split_bucket"):
            value = getattr(decision, name)
            if value is not None:
                metadata[name] = value
        if isinstance(self._flags, Store):
            metadata["config_version"] = self._flags.version
        return metadata


_MISMATCH = object()


def _typed(value: Any, kind: str) -> Any:
    """The value as the type asked for, or ``_MISMATCH``."""
    if kind == "boolean":
        return value if isinstance(value, bool) else _MISMATCH
    if kind == "string":
        return value if isinstance(value, str) else _MISMATCH
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISMATCH
    if kind == "float":
        # JSON has one number type: an integer variant serves a float too.
        if isinstance(value, float):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return _MISMATCH
    if kind == "object":
        return value if isinstance(value, (dict, list)) else _MISMATCH
    return _MISMATCH


def _error(default: Any, code: ErrorCode, message: str) -> FlagResolutionDetails[Any]:
    return FlagResolutionDetails(
        value=default, reason=Reason.ERROR, error_code=code, error_message=message
    )


def _context(ctx: EvaluationContext | None) -> dict[str, Any]:
    """An OpenFeature context as the engine's: ``targeting_key`` is
    ``targetingKey`` (the user id), the attributes as they are."""
    if ctx is None:
        return {}
    context = dict(ctx.attributes)
    if ctx.targeting_key is not None:
        context["targetingKey"] = ctx.targeting_key
    return context
