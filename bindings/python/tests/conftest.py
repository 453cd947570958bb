"""Shared paths and helpers of the Python binding's tests."""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONFORMANCE = ROOT / "tests" / "conformance"


def load_vectors() -> dict[str, Any]:
    with open(CONFORMANCE / "vectors.json", encoding="utf-8") as f:
        return json.load(f)


VECTORS = load_vectors()
NOW = datetime.datetime.fromisoformat(VECTORS["now"].replace("Z", "+00:00"))


@pytest.fixture
def conformance_config() -> pathlib.Path:
    return CONFORMANCE / VECTORS["config"]
