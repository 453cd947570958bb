"""Errors: the command line's messages and positions, as exceptions and as
check() reports."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

import killswitch

BAD_YAML = """flags:
  - flag_key: new_search_ui
    enabled: true
    targeting_rules:
      allow_list:
        - email endswith "@internal.com"
      deny_list:
        - {attribute: segment, operator: equals, value: legacy}
  - flag_key: other
    enabled: tru
"""

EXPECTED = """error[E0002]: unknown operator `endswith`
 --> {file}:6:17
  |
6 |         - email endswith "@internal.com"
  |                 ^^^^^^^^
  = in flags[0] "new_search_ui" > targeting_rules.allow_list[0]
  = help: did you mean `endsWith`?"""


@pytest.fixture
def bad_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "flags.yaml"
    path.write_text(BAD_YAML)
    return path


def test_config_errors_carry_every_problem(bad_file) -> None:
    with pytest.raises(killswitch.ConfigError) as caught:
        killswitch.FlagSet.load(bad_file)
    err = caught.value
    assert err.file == str(bad_file)
    assert [(d.line, d.column, d.code) for d in err.diagnostics] == [(6, 17, "E0002"), (10, 14, "E0104")]
    first = err.diagnostics[0]
    assert first.message == "unknown operator `endswith`"
    assert first.help == "did you mean `endsWith`?"
    assert first.path == 'flags[0] "new_search_ui" > targeting_rules.allow_list[0]'
    assert (first.end_line, first.end_column, first.severity, first.flag) == (6, 25, "error", "new_search_ui")
    assert str(err).startswith(EXPECTED.format(file=bad_file))
    assert str(err).endswith("\n\n2 errors")
    assert str(first) == EXPECTED.format(file=bad_file)
    assert isinstance(err, killswitch.KillswitchError)


def test_text_errors_name_no_file() -> None:
    with pytest.raises(killswitch.ConfigError) as caught:
        killswitch.FlagSet.from_text(BAD_YAML, "yaml")
    assert caught.value.file is None
    assert str(caught.value).startswith(EXPECTED.format(file="<config>"))


def test_syntax_errors_have_a_position() -> None:
    with pytest.raises(killswitch.ConfigError) as caught:
        killswitch.FlagSet.from_text('{"flag_key": "f",\n "enabled": tru}')
    d = caught.value.diagnostics[0]
    assert (d.line, d.column, d.code) == (2, 13, "E0101")


def test_missing_files() -> None:
    with pytest.raises(FileNotFoundError, match="cannot read `/no/such/flags.json`"):
        killswitch.FlagSet.load("/no/such/flags.json")
    with pytest.raises(OSError, match="cannot read"):
        killswitch.FlagSet.load("/")
    with pytest.raises(FileNotFoundError):
        killswitch.check("/no/such/flags.json")


def test_check_reports_and_never_raises(bad_file) -> None:
    report = killswitch.check(bad_file)
    assert not report.ok and report.errors == 2 and report.file == str(bad_file)
    assert [d.code for d in report.diagnostics] == ["E0002", "E0104"]
    assert str(report).endswith("\n\n2 errors in 1 of 1 file")
    lint = killswitch.check(text='{"flag_key": "f", "enabled": true, "targeting_rules": {"allow_list": ["a", "a"]}}')
    assert lint.ok and lint.warnings == 1 and lint.flag_count == 1
    d = lint.diagnostics[0]
    assert (d.severity, d.code, d.lint, d.line, d.column) == ("warning", "W0002", "duplicate-rule", 1, 76)
    assert str(lint).endswith("ok with 1 warning: 1 file, 1 flag")
    assert str(killswitch.check(text="flag_key: f\nenabled: true\n", format="yaml")) == "ok: 1 file, 1 flag"
    for neither_or_both in [{}, {"path": bad_file, "text": "{}"}]:
        with pytest.raises(TypeError, match="a path or text=..., one of them"):
            killswitch.check(**neither_or_both)


CLI = os.environ.get("KILLSWITCH_BIN")


@pytest.mark.skipif(not CLI, reason="KILLSWITCH_BIN (the killswitch command) not given")
def test_check_prints_what_the_command_line_prints(bad_file, tmp_path) -> None:
    lint = tmp_path / "lint.json"
    lint.write_text('{"flag_key": "f", "enabled": true,\n "targeting_rules": {"allow_list": ["a", "a"]}}')
    for path in [bad_file, lint]:
        cli = subprocess.run([CLI, "check", str(path)], capture_output=True, text=True, check=False)
        assert str(killswitch.check(path)) == cli.stdout.rstrip("\n")
    cli = subprocess.run([CLI, "check", str(bad_file)], capture_output=True, text=True, check=False)
    with pytest.raises(killswitch.ConfigError) as caught:
        killswitch.FlagSet.load(bad_file)
    # The same diagnostics; only the closing count line differs.
    assert str(caught.value).rsplit("\n\n", 1)[0] == cli.stdout.rsplit("\n\n", 1)[0]
