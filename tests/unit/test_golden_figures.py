"""Golden figures: the JSON of a few figures for fixed configs, written before the restructure
(tests/golden/make_golden.py, from commit f1dedaf), must not change when code moves.

Floats are compared to 1e-9 relative (JSON round trips and summation order may differ in the last
bits); everything else exactly. A figure changed on purpose gets new goldens in its own commit."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)


def differences(a, b, path="$"):
    """Yield the paths where two JSON values differ (floats within 1e-9 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield f"{path}.{k}: only in {'new' if k in a else 'golden'}"
            else:
                yield from differences(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if not (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        ):
            yield f"{path}: {a!r} != {b!r}"
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def test_differences_finds_a_changed_value():
    assert list(differences({"a": [1.0, 2]}, {"a": [1.0, 2]})) == []
    assert list(differences({"a": [1.0, 2]}, {"a": [1.0001, 2]})) == ["$.a[0]: 1.0 != 1.0001"]
    assert list(differences({"a": 1}, {"b": 1})) == ["$.a: only in new", "$.b: only in golden"]


CASES = make_golden.cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_matches_golden(name):
    new = make_golden.figure_json(CASES[name]())
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    golden.get("layout", {}).pop("template", None)  # recorded before the theme was left out (see make_golden)
    diffs = list(differences(new, golden))
    assert not diffs, f"{len(diffs)} differences, first: {diffs[:5]}"
