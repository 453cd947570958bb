"""Type stubs of the native module (``killswitch._killswitch``)."""

import datetime
import os
from typing import Any, Literal, TypeAlias, final

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

_JSON: TypeAlias = None | bool | int | float | str | list["_JSON"] | dict[str, "_JSON"]
_Now: TypeAlias = datetime.datetime | str | None
_Context: TypeAlias = dict[str, Any] | None
_Format: TypeAlias = Literal["json", "yaml", "yml", "toml"]

class KillswitchError(Exception):
    """The base of every error killswitch raises."""

class ConfigError(KillswitchError):
    """A config that cannot be loaded; ``str()`` renders every problem as ``killswitch check`` does."""

    diagnostics: list[Diagnostic]
    file: str | None

class ContextError(KillswitchError):
    """An evaluation context that cannot be used."""

@final
class Diagnostic:
    """One problem of a config file."""

    @property
    def severity(self) -> Literal["error", "warning", "note"]: ...
    @property
    def code(self) -> str: ...
    @property
    def lint(self) -> str | None: ...
    @property
    def message(self) -> str: ...
    @property
    def help(self) -> str | None: ...
    @property
    def path(self) -> str: ...
    @property
    def flag(self) -> str | None: ...
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def end_line(self) -> int | None: ...
    @property
    def end_column(self) -> int | None: ...

@final
class Decision:
    """The outcome of evaluating a flag for a context."""

    @property
    def flag_key(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def variant(self) -> str | None:
        """The variant's name; ``"on"``/``"off"`` for a boolean flag; ``None`` for an unknown flag."""
    @property
    def value(self) -> _JSON:
        """The value served, of its JSON type; ``True``/``False`` for a boolean flag."""
    @property
    def reason(self) -> Literal[
        "kill_switch",
        "disabled",
        "prerequisite_off",
        "allow_rule",
        "deny_rule",
        "in_rollout",
        "out_of_rollout",
        "missing_user_id",
        "no_rollout",
        "unknown_flag",
    ]: ...
    @property
    def openfeature_reason(self) -> Literal["DISABLED", "TARGETING_MATCH", "SPLIT", "DEFAULT", "ERROR"]: ...
    @property
    def rule(self) -> int | None: ...
    @property
    def prerequisite(self) -> str | None: ...
    @property
    def bucket(self) -> int | None: ...
    @property
    def percentage(self) -> int | None: ...
    @property
    def schedule_step(self) -> int | None: ...
    @property
    def split_bucket(self) -> int | None: ...

@final
class FlagSet:
    """An immutable set of compiled flags."""

    @staticmethod
    def load(path: str | os.PathLike[str]) -> FlagSet: ...
    @staticmethod
    def from_text(text: str, format: _Format = "json") -> FlagSet: ...
    def evaluate(self, key: str, context: _Context = None, *, now: _Now = None) -> Decision: ...
    def evaluate_all(self, context: _Context = None, *, now: _Now = None) -> dict[str, Decision]: ...
    def keys(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...

@final
class CheckReport:
    """Every diagnostic of a config; ``str()`` is what ``killswitch check`` prints."""

    @property
    def ok(self) -> bool: ...
    @property
    def diagnostics(self) -> list[Diagnostic]: ...
    @property
    def errors(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    @property
    def flag_count(self) -> int: ...
    @property
    def file(self) -> str | None: ...

def check(
    path: str | os.PathLike[str] | None = None, *, text: str | None = None, format: _Format | None = None
) -> CheckReport: ...
def bucket(user_id: str, flag_key: str) -> int: ...

@final
class StoreStatus:
    """A store's health."""

    @property
    def source(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def loaded_at(self) -> float: ...
    @property
    def flags(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_error_at(self) -> float | None: ...
    @property
    def watching(self) -> bool: ...

@final
class Store:
    """Flags that follow a config file, the last good version serving."""

    @staticmethod
    def watch(
        path: str | os.PathLike[str], *, poll_interval: float = 2.0, allow_missing: bool = False
    ) -> Store: ...
    def evaluate(self, key: str, context: _Context = None, *, now: _Now = None) -> Decision: ...
    def evaluate_all(self, context: _Context = None, *, now: _Now = None) -> dict[str, Decision]: ...
    def __contains__(self, key: str, /) -> bool: ...
    @property
    def version(self) -> int: ...
    @property
    def status(self) -> StoreStatus: ...
    def reload(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *args: object) -> None: ...
