"""The operator's data folder (made_viz.data.folder, env var MADE_VIZ_DATA_DIR): the only place on the
server the app reads students' files from. Copies of the tests that lived beside the old code in
session.py (test_safety.py and test_session_curves.py), now pointed at the new home."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from made_viz import data as D
from made_viz.data import DataError
from made_viz.data import folder as F


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "class-data"
    root.mkdir()
    (root / "digits.npy").write_bytes(_npy(np.eye(16, dtype=np.uint8)))
    (root / ".hidden.npy").write_bytes(_npy(np.eye(16, dtype=np.uint8)))
    (root / "notes.txt").write_text("not data")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "secret.npy").write_bytes(_npy(np.ones((4, 16), np.uint8)))
    (root / "link-out.npy").symlink_to(outside / "secret.npy")
    (root / "link-dir").symlink_to(outside, target_is_directory=True)
    (root / "link-in.npy").symlink_to(root / "digits.npy")
    monkeypatch.setenv(F.DATA_DIR_ENV, str(root))
    return root


def test_the_package_exports_the_folder_helpers():
    assert D.data_dir is F.data_dir and D.list_data_files is F.list_data_files
    assert D.resolve_data_file is F.resolve_data_file


def test_data_dir_comes_from_the_environment(data_root, monkeypatch):
    assert F.DATA_DIR_ENV == "MADE_VIZ_DATA_DIR"
    assert F.data_dir() == data_root
    monkeypatch.setenv(F.DATA_DIR_ENV, str(data_root / "missing"))
    assert F.data_dir() is None
    monkeypatch.setenv(F.DATA_DIR_ENV, "   ")
    assert F.data_dir() is None
    monkeypatch.delenv(F.DATA_DIR_ENV)
    assert F.data_dir() is None


def test_only_data_files_inside_the_folder_are_listed(data_root):
    assert F.list_data_files(F.data_dir()) == ["digits.npy", "link-in.npy"]


def test_an_unreadable_folder_lists_nothing(tmp_path):
    assert F.list_data_files(tmp_path / "missing") == []


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../secret/secret.npy",
        "./../secret/secret.npy",
        "digits.npy/../../secret/secret.npy",
        "/etc/passwd",
        "ABSOLUTE",
        "link-out.npy",
        "link-dir",
        "link-dir/secret.npy",
        ".hidden.npy",
        "notes.txt",
        "digits.npy\x00.txt",
        "",
        ".",
        "~/.ssh/id_rsa",
        None,
        b"digits.npy",
    ],
)
def test_paths_outside_the_data_folder_are_refused(data_root, name):
    if name == "ABSOLUTE":
        name = str(data_root / "digits.npy")  # even an absolute path to a file inside: names only
    with pytest.raises(DataError, match="data folder"):
        F.resolve_data_file(F.data_dir(), name)


def test_a_listed_file_resolves_and_loads(data_root):
    root = F.data_dir()
    ds = D.load_dataset(str(F.resolve_data_file(root, "digits.npy")))
    assert ds.d == 16


def test_an_idx_folder_cannot_smuggle_in_a_file_from_outside(data_root, tmp_path):
    """A folder of IDX files is listed as one entry only if no link inside it leads out."""
    folder = data_root / "mnist"
    folder.mkdir()
    secret = tmp_path / "secret" / "train-images-idx3-ubyte"
    images = np.zeros((3, 4, 4), np.uint8)
    secret.write_bytes(b"\x00\x00\x08\x03" + np.array([3, 4, 4], ">u4").tobytes() + images.tobytes())
    (folder / "train-images-idx3-ubyte").symlink_to(secret)
    assert "mnist" not in F.list_data_files(F.data_dir())
    with pytest.raises(DataError, match="data folder"):
        F.resolve_data_file(F.data_dir(), "mnist")
    with pytest.raises(DataError, match="outside the folder"):
        D.load_dataset(str(folder))  # the loader does not follow the link either


def test_data_folder_lists_only_safe_files(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    np.save(root / "good.npy", (np.random.default_rng(0).random((20, 16)) > 0.5).astype(np.uint8))
    (root / "notes.txt").write_text("hello")
    (root / ".hidden.npy").write_bytes(b"x")
    outside = tmp_path / "secret.npy"
    np.save(outside, np.zeros((3, 4), np.uint8))
    os.symlink(outside, root / "escape.npy")
    os.symlink(root / "good.npy", root / "alias.npy")  # a link that stays inside is fine
    idx = root / "mnist_idx"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte").write_bytes(b"")
    sneaky = root / "sneaky_idx"  # a folder whose IDX file links out
    sneaky.mkdir()
    os.symlink(outside, sneaky / "train-images-idx3-ubyte")
    (root / "empty_dir").mkdir()  # a folder without IDX images
    assert F.list_data_files(root) == ["alias.npy", "good.npy", "mnist_idx"]
    assert F.resolve_data_file(root, "good.npy") == root / "good.npy"
    for bad in ("escape.npy", "../secret.npy", str(outside), "notes.txt", ".hidden.npy", "", "sneaky_idx", "empty_dir"):
        with pytest.raises(DataError):
            F.resolve_data_file(root, bad)
    ds = D.load_dataset(F.resolve_data_file(root, "good.npy"))
    assert ds.d == 16
