"""The shipped pre-trained models' index (made_viz.pretrained): where it lives (inside the package),
and that a damaged index raises instead of looking like an install without models (which would
silently turn the tests that depend on the models into skips)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import made_viz
from made_viz import pretrained as P

ENTRY = {
    "name": "x",
    "title": "t",
    "dataset": "digits8",
    "description": "d",
    "test_nll_1": 1.0,
    "test_nll_ensemble": 1.0,
    "K": 1,
    "command": "c",
    "file": "x.pt",
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    root = tmp_path / "pre"
    root.mkdir()
    (root / "x.pt").write_bytes(b"weights")
    monkeypatch.setenv(P.PRETRAINED_ENV, str(root))
    return root


def test_models_ship_inside_the_package(monkeypatch):
    monkeypatch.delenv("MADE_VIZ_PRETRAINED", raising=False)
    monkeypatch.delenv("MADE_VIZ_ASSETS", raising=False)
    package = Path(made_viz.__file__).resolve().parent
    assert P.pretrained_dir().resolve() == package / "assets" / "pretrained"
    assert {"digits8", "mnist", "bars4"} <= {p.name for p in P.list_pretrained()}


def test_the_assets_folder_override_carries_the_models(tmp_path, monkeypatch):
    monkeypatch.delenv("MADE_VIZ_PRETRAINED", raising=False)
    monkeypatch.setenv("MADE_VIZ_ASSETS", str(tmp_path))
    assert P.pretrained_dir() == tmp_path / "pretrained"
    assert P.list_pretrained() == []  # no index there: no models, not an error


def test_a_missing_index_means_no_models(folder):
    assert P.list_pretrained() == []


def test_a_good_index_lists_present_files_only(folder):
    (folder / "index.json").write_text(
        json.dumps([ENTRY, dict(ENTRY, name="gone", file="missing.pt"), dict(ENTRY, name="out", file="../outside.pt")])
    )
    (folder.parent / "outside.pt").write_bytes(b"x")
    assert [p.name for p in P.list_pretrained()] == ["x"]


@pytest.mark.parametrize(
    "text,needle",
    [
        ("not json", "not valid JSON"),
        ('{"name": "x"}', "JSON list"),
        (json.dumps([ENTRY, {"name": "broken"}]), "entry 2"),
        (json.dumps([ENTRY, dict(ENTRY, unknown_field=1)]), "entry 2"),
        (json.dumps(["just a string"]), "entry 1"),
        ("[", "not valid JSON"),
    ],
    ids=["not-json", "not-a-list", "missing-fields", "unknown-field", "not-an-object", "truncated"],
)
def test_a_corrupt_index_raises_a_clear_error(folder, text, needle):
    (folder / "index.json").write_text(text)
    with pytest.raises(P.PretrainedIndexError, match=needle) as info:
        P.list_pretrained()
    assert "index.json" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(P.PretrainedIndexError):
        P.get_info("x")


def test_an_unreadable_index_raises(folder):
    (folder / "index.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(P.PretrainedIndexError, match="cannot be read"):
        P.list_pretrained()
    if os.geteuid() != 0:  # root reads any file whatever its mode
        (folder / "index.json").write_text("[]")
        (folder / "index.json").chmod(0)
        with pytest.raises(P.PretrainedIndexError, match="cannot be read"):
            P.list_pretrained()
    (folder / "index.json").unlink()
    (folder / "index.json").mkdir()  # a folder where the file should be
    with pytest.raises(P.PretrainedIndexError, match="cannot be read"):
        P.list_pretrained()
