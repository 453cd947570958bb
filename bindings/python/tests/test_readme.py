"""The README's example runs and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import os
import re

from conftest import ROOT


def test_the_readme_example(monkeypatch) -> None:
    readme = (ROOT / "bindings" / "python" / "README.md").read_text()
    code = re.search(r"## Example\n\n```python\n(.*?)```", readme, re.S)
    assert code is not None
    expected = [line.split("# ", 1)[1] for line in code.group(1).splitlines() if "print(" in line]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {})
    assert out.getvalue().splitlines() == expected
    assert os.getcwd() == str(ROOT)
