"""A catalogue of bad inputs: what thirty students (and one prankster) can type, link, upload or run.

Every entry must end in a clear message that names the problem (asserted on a meaningful
fragment) and leave the session usable: for the app (streamlit.testing) no exception, the page
still renders, the previous valid architecture is kept and a valid edit afterwards still works;
for the library loaders their one error type (DataError, CheckpointError); for the command line
exit status 2 and one `made-viz: error:` line, never a traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from made_viz.config import Config
from made_viz.ui import CFG, DEFAULT_PRESET, PRESETS
from made_viz.urlstate import config_from_params

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DEFAULT = PRESETS[DEFAULT_PRESET].cfg


def run_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def messages(at: AppTest) -> list[str]:
    return [e.value for e in (*at.error, *at.warning)]


def caption(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption if c.value.startswith("D = "))


def assert_session_goes_on(at: AppTest, cfg: Config) -> None:
    """No traceback, the page still renders, the session still holds `cfg` and shows it."""
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "the page stopped rendering"
    assert at.session_state[CFG] == cfg
    assert caption(at).startswith(f"D = {cfg.d} ·")
    assert config_from_params(dict(at.query_params), DEFAULT) == cfg, "the URL no longer matches the session"
    # ... and the student can go on: a preset (which rewrites every control) is taken, the message goes
    at.selectbox(key="w_preset").set_value("narrow").run()
    assert not at.exception and not at.error
    assert at.session_state[CFG] == PRESETS["narrow"].cfg


# ---------------------------------------------------------------------------------------------
# sidebar widgets


def _hidden(text):
    return lambda at: at.text_input(key="w_hidden").set_value(text).run()


def _size(h, w):
    def act(at):
        at.number_input(key="w_height").set_value(h).run()
        at.number_input(key="w_width").set_value(w).run()

    return act


def _explicit(text):
    def act(at):
        at.selectbox(key="w_order").set_value("explicit").run()
        at.text_input(key="w_order_text").set_value(text).run()

    return act


def _add_layers(n):
    def act(at):
        for _ in range(n):
            next(b for b in at.sidebar.button if b.label == "Add layer").click().run()

    return act


def _preset(key):
    return lambda at: at.selectbox(key="w_preset").set_value(key).run()


SEED_EXAMPLE = _preset("seed")  # D = 3: short explicit orders make sense there
SIDEBAR_CASES = {
    "hidden 0,-3": (None, _hidden("0,-3"), "0 is not a valid size"),
    "hidden abc": (None, _hidden("abc"), "'abc' is not a whole number"),
    "hidden 1e9": (None, _hidden("1e9"), "'1e9' is not a whole number"),
    "hidden 1.5": (None, _hidden("64, 1.5"), "'1.5' is not a whole number"),
    "hidden 5000 units": (None, _hidden("5000"), "at most 4096 per layer"),
    "hidden 10^22 units": (None, _hidden("9" * 22), "at most 4096 per layer"),
    "hidden 9 layers": (None, _hidden(",".join(["8"] * 9)), "too many: at most 8"),
    "hidden 5000 layers of text": (None, _hidden("1," * 5000), "too many: at most 8"),
    "hidden html": (None, _hidden("<script>alert(1)</script>"), "is not a whole number"),
    # seen in the soak run (bench/soak.py): what students typed that no test had tried
    "hidden -3": (None, _hidden("-3"), "-3 is not a valid size"),
    "hidden 0x10": (None, _hidden("0x10"), "'0x10' is not a whole number"),
    "hidden 500,-1": (None, _hidden("500,-1"), "-1 is not a valid size"),
    # the box takes at most 200 characters (max_chars), so the paste arrives clipped: 100 layers; a paste
    # just under the server's 1 MB message limit (a bigger one closes the socket: tests/e2e/test_soak_student.py)
    "hidden 0.9 MB paste": (None, _hidden("1," * 450_000), "too many: at most 8"),
    "hidden a 41-character word is quoted clipped": (None, _hidden("x" * 41), "is not a whole number"),
    "add layer beyond 8": (_add_layers(6), _add_layers(1), "9 hidden layers is too many"),
    "D = 1 (1x1 image)": (_size(1, 8), _size(1, 1), "D must be at least 2"),
    "explicit order duplicate": (SEED_EXAMPLE, _explicit("1,1,1"), "pixel 1 appears twice"),
    "explicit order too short": (SEED_EXAMPLE, _explicit("1,0"), "lists 2 pixels but D = 3"),
    "explicit order too long": (SEED_EXAMPLE, _explicit("0,1,2,3"), "lists 4 pixels but D = 3"),
    "explicit order out of range": (SEED_EXAMPLE, _explicit("0,1,7"), "contains 7, which is not a pixel index"),
    "explicit order negative": (SEED_EXAMPLE, _explicit("-1,0,1"), "contains -1, which is not a pixel index"),
    "explicit order words": (SEED_EXAMPLE, _explicit("first, second"), "expected whole numbers"),
    "explicit order empty": (SEED_EXAMPLE, _explicit(""), "type an explicit order"),
    "explicit order for D=64": (None, _explicit("2,1,0"), "lists 3 pixels but D = 64"),
}


@pytest.mark.parametrize("case", list(SIDEBAR_CASES))
def test_bad_sidebar_input_gives_a_message_and_keeps_the_architecture(case):
    setup, act, fragment = SIDEBAR_CASES[case]
    at = run_app()
    if setup:
        setup(at)  # a valid starting point
    before = at.session_state[CFG]
    act(at)
    assert any(fragment in m for m in messages(at)), messages(at)
    assert all(len(m) < 400 for m in messages(at)), "a message quoted the student's whole text back"
    assert_session_goes_on(at, before)


def test_largest_image_is_accepted_and_width_beyond_the_widget_bound_is_clamped():
    """64 x 64 = 4096 = the cap is a valid architecture; a width of 65 never reaches the Config."""
    at = run_app()
    _size(64, 64)(at)
    assert not at.exception and not messages(at)
    assert at.session_state[CFG].d == 4096 and caption(at).startswith("D = 4096 ·")
    at.number_input(key="w_width").set_value(65).run()  # a crafted websocket message; the browser clamps
    assert not at.exception
    cfg = at.session_state[CFG]
    assert cfg.d <= 4096 and 1 <= at.number_input(key="w_width").value <= 64
    assert caption(at).startswith(f"D = {cfg.d} ·")


@pytest.mark.parametrize(
    "text, hidden",
    [
        ("", ()),
        ("none", ()),
        ("12;;,, 7", (12, 7)),
        ("１２８", (128,)),
        ("210,", (210,)),
        ("٢١٠", (210,)),
        ("+210", (210,)),
    ],
)
def test_odd_but_valid_hidden_text_is_understood(text, hidden):
    at = run_app()
    _hidden(text)(at)
    assert not at.exception and not messages(at)
    assert at.session_state[CFG].hidden == hidden
    assert caption(at).endswith(f"{' → '.join(map(str, hidden)) or '(none)'} → 64")


# ---------------------------------------------------------------------------------------------
# URL query parameters (a link a student edited, or a prank link on the board)

QUERY_CASES = {
    "d=abc": ({"d": "abc"}, "d must be a whole number"),
    "d=": ({"d": ""}, "d must be a whole number"),
    "d=99999": ({"d": "99999", "shape": "none"}, "too large"),
    "d=1": ({"d": "1", "shape": "none"}, "at least 2"),
    "hidden=-1": ({"hidden": "-1"}, "-1 is not a valid size"),
    "hidden=abc": ({"hidden": "abc"}, "'abc' is not a whole number"),
    "hidden=5000": ({"hidden": "5000"}, "at most 4096"),
    "hidden 9 layers": ({"hidden": "4,4,4,4,4,4,4,4,4"}, "too many"),
    "order=1,1,1 with D=64": ({"order": "1,1,1"}, "lists 3 pixels but D = 64"),
    "order=1,1,1 with D=3": ({"d": "3", "shape": "1x3", "order": "1,1,1"}, "appears twice"),
    "order=sideways": ({"order": "sideways"}, "order: expected whole numbers"),
    "shape=2x": ({"shape": "2x"}, "image width must be a whole number"),
    "shape=7x7 for D=64": ({"shape": "7x7"}, "does not have D = 64 pixels"),
    "shape=65x65": ({"d": "4225", "shape": "65x65"}, "too large"),
    "masking=evil": ({"masking": "evil"}, "unknown masking 'evil'"),
    "activation=evil": ({"activation": "rm -rf"}, "unknown activation"),
    "degrees=evil": ({"degrees": "evil"}, "unknown hidden-degree mode"),
    "direct=maybe": ({"direct": "maybe"}, "direct must be 1 or 0"),
    "num_masks=0": ({"num_masks": "0"}, "number of masks must be between 1 and 64"),
    "num_masks=1e3": ({"num_masks": "1e3"}, "num_masks must be a whole number"),
    "seed=-5": ({"seed": "-5"}, "seed must be a whole number between"),
    "seed=2^40": ({"seed": str(2**40)}, "seed must be a whole number between"),
}


@pytest.mark.parametrize("case", list(QUERY_CASES))
def test_bad_link_gives_a_message_and_the_default_architecture(case):
    query, fragment = QUERY_CASES[case]
    at = run_app(query)
    msgs = messages(at)
    assert any("link's architecture is not valid" in m and fragment in m for m in msgs), msgs
    assert_session_goes_on(at, DEFAULT)


def test_unknown_query_keys_are_ignored():
    """Other pages keep their own parameters in the URL: unknown keys are not an error."""
    at = run_app({"utm_source": "board", "page": "../../etc/passwd", "hidden": "32"})
    assert not at.exception and not messages(at)
    # the default preset (8x8 digits) with one hidden layer of 32: the other keys change nothing
    assert at.session_state[CFG] == Config(
        d=64, shape=(8, 8), hidden=(32,), order="natural", degrees="random", num_masks=1, seed=0
    )
    assert dict(at.query_params) == {"d": "64", "hidden": "32"}  # the rewritten URL is canonical


# ---------------------------------------------------------------------------------------------
# uploaded data files (the Train page hands the uploaded bytes to made_viz.data.load_bytes)


def _idx(images) -> bytes:
    images = np.asarray(images, dtype=np.uint8)
    return struct.pack(">I", 0x803) + struct.pack(">3I", *images.shape) + images.tobytes()


def _npy(array, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A ~2.7 MB .npz whose one array unpacks to 614 MB of zeros (above the 512 MB file limit)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (150_000, 4096)})
        with z.open("train.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            chunk = bytes(4096 * 1000)
            for _ in range(150):
                f.write(chunk)
    return buf.getvalue()


_IMAGES = np.random.default_rng(0).integers(0, 256, (10, 8, 8), dtype=np.uint8)
UPLOAD_CASES = {
    "empty file": (lambda: b"", "x.npz", "not a valid .npz"),
    "truncated IDX": (lambda: _idx(_IMAGES)[:-50], "train-images-idx3-ubyte", "is truncated"),
    "IDX header only": (lambda: _idx(_IMAGES)[:10], "train-images-idx3-ubyte", "header is truncated"),
    "IDX wrong magic": (lambda: b"\x00\x00\x08\x07" + _idx(_IMAGES)[4:], "train-images-idx3-ubyte", "bad magic number"),
    "IDX label file": (lambda: struct.pack(">II", 0x801, 3) + b"\x01\x02\x03", "labels-idx1-ubyte", "label file"),
    "IDX oversized declared dims": (
        lambda: struct.pack(">I3I", 0x803, 60000, 1000, 1000) + b"\x00" * 100,
        "train-images-idx3-ubyte",
        "not supported",
    ),
    "IDX trailing garbage": (lambda: _idx(_IMAGES) + b"junk", "train-images-idx3-ubyte", "size mismatch"),
    "images larger than 64x64": (lambda: _npy(np.zeros((3, 65, 65), np.uint8)), "big.npy", "larger than 64x64"),
    "1-D array": (lambda: _npy(np.arange(10, dtype=np.uint8)), "vec.npy", "expected images"),
    "4-D array": (lambda: _npy(np.zeros((2, 2, 8, 8), np.uint8)), "video.npy", "expected images"),
    "array of strings": (lambda: _npy(np.array([["a", "b"], ["c", "d"]])), "words.npy", "not real-valued"),
    "complex numbers": (lambda: _npy(np.ones((4, 4), np.complex64)), "cplx.npy", "not real-valued"),
    "NaN array": (lambda: _npy(np.full((4, 16), np.nan, np.float32)), "nan.npy", "NaN or infinite"),
    "infinite values": (lambda: _npy(np.array([[0.0, np.inf] * 8] * 4)), "inf.npy", "NaN or infinite"),
    "negative intensities": (lambda: _npy(-np.ones((4, 16), np.int16)), "neg.npy", "negative values"),
    "intensities above 255": (lambda: _npy(np.full((4, 16), 1000, np.int32)), "hdr.npy", "above 255"),
    "no images": (lambda: _npy(np.zeros((0, 16), np.uint8)), "none.npy", "contains no images"),
    "a single image": (lambda: _npy(np.ones((1, 16), np.uint8)), "one.npy", "only 1 image"),
    "pickled npy": (
        lambda: _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "obj.npy",
        "refused for safety",
    ),
    "plain python pickle": (lambda: pickle.dumps({"train": [[0, 1]]}), "data.pkl", "refused for safety"),
    "npz of pickled objects": (lambda: _npz(train=np.array([None, 1], dtype=object)), "obj.npz", "refused for safety"),
    "npz with unknown keys": (
        lambda: _npz(foo=np.ones((4, 16)), bar=np.ones((4, 16))),
        "keys.npz",
        "don't know which arrays",
    ),
    "npz with no arrays": (lambda: _npz(), "empty.npz", "no arrays"),
    "npz train/test sizes differ": (
        lambda: _npz(x_train=np.ones((4, 16), np.uint8), x_test=np.ones((4, 9), np.uint8)),
        "split.npz",
        "train images have 16 pixels but test images have 9",
    ),
    "zip bomb npz": (_zip_bomb, "bomb.npz", "MB"),
    "gzip inside gzip": (lambda: gzip.compress(gzip.compress(_idx(_IMAGES))), "x.gz", "compressed twice"),
    "truncated gzip": (lambda: gzip.compress(_idx(_IMAGES))[:-20], "x.gz", "truncated"),
    "ragged amat rows": (lambda: b"0 1 0 1\n0 1 0\n", "x.amat", "row 2 has 3 values"),
    "amat with words": (lambda: b"0 1 zero 1\n", "x.amat", "not a number"),
    "html page": (lambda: b"<!doctype html><html><body>hi</body></html>", "index.html", "unrecognised file format"),
    "random bytes": (
        lambda: bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
        "x.bin",
        "unrecognised file format",
    ),
}


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
def test_bad_upload_gives_a_data_error_naming_the_file(case):
    from made_viz.data import DataError, load_bytes

    make, name, fragment = UPLOAD_CASES[case]
    with pytest.raises(DataError) as info:
        load_bytes(make(), name)
    msg = str(info.value)
    assert msg.startswith(Path(name).name) and fragment in msg, msg  # names the file first
    assert "\n" not in msg


def test_upload_name_with_a_path_is_reduced_to_its_base_name():
    """A crafted upload name never puts a server path into a message or a lookup."""
    from made_viz.data import DataError, load_bytes

    with pytest.raises(DataError, match=r"^passwd: "):
        load_bytes(b"root:x:0:0:root:/root:/bin/bash\n", "../../../etc/passwd")


# ---------------------------------------------------------------------------------------------
# checkpoints (uploaded to the Sample page, or named on the command line)


class _Evil:
    def __reduce__(self):
        import os

        return (os.getcwd, ())  # harmless: test_safety.py checks that a real payload never runs


def _good_checkpoint(cfg: Config | None = None) -> bytes:
    cfg = cfg or Config(d=4, shape=(2, 2), hidden=(8,))
    from made_viz.checkpoint import checkpoint_bytes
    from made_viz.model import MADE

    torch.manual_seed(0)
    return checkpoint_bytes(MADE(cfg), history=[{"epoch": 1, "valid_nll": 2.0}])


def _tampered(change) -> bytes:
    from made_viz.checkpoint import pack, unpack

    payload = unpack(_good_checkpoint())
    change(payload)
    return pack(payload)


def _torch_save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _zip_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def _other_architecture(payload):
    """The weights of D=4, hidden (8,) under the configuration of D=4, hidden (16, 16)."""
    payload["config"] = json.dumps(Config(d=4, shape=(2, 2), hidden=(16, 16)).to_dict())


def _set_weight(name, value):
    def change(p):
        p["state_dict"][name] = value(p["state_dict"][name])

    return change


CHECKPOINT_CASES = {
    "empty file": (lambda: b"", "empty"),
    "random bytes": (
        lambda: bytes(np.random.default_rng(2).integers(0, 256, 4000, dtype=np.uint8)),
        "not a torch zip archive",
    ),
    "truncated checkpoint": (lambda: _good_checkpoint()[:700], "truncated or corrupt"),
    "plain zip": (lambda: _zip_of("hello.txt", b"hi"), "not one written by torch.save"),
    "legacy bare pickle": (lambda: pickle.dumps({"format": "made-viz-checkpoint"}), "not a torch zip archive"),
    "malicious pickle": (lambda: _torch_save({"format": "made-viz-checkpoint", "x": _Evil()}), "refused"),
    "a bare tensor": (lambda: _torch_save(torch.zeros(3)), "no 'made-viz-checkpoint' format tag"),
    "another architecture": (lambda: _tampered(_other_architecture), "do not match the configuration"),
    "invalid configuration": (lambda: _tampered(lambda p: p.update(config='{"d": 1}')), "invalid configuration"),
    "future version": (lambda: _tampered(lambda p: p.update(version=99)), "version 99 is not supported"),
    "NaN weights": (lambda: _tampered(_set_weight("layers.0.weight", lambda t: t * float("nan"))), "NaN or infinite"),
    "tampered mask": (
        lambda: _tampered(_set_weight("layers.0.mask", lambda t: torch.ones_like(t))),
        "differs from the mask",
    ),
    "missing weights": (lambda: _tampered(lambda p: p["state_dict"].pop("layers.0.weight")), "missing"),
    "history not JSON": (lambda: _tampered(lambda p: p.update(history="{oops")), "history is not valid JSON"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoint_gives_a_checkpoint_error(case):
    from made_viz.checkpoint import CheckpointError, load_checkpoint

    make, fragment = CHECKPOINT_CASES[case]
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(make())
    assert fragment in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_good_checkpoint_still_loads():
    """The catalogue above is not rejecting everything: the untampered file loads."""
    from made_viz.checkpoint import load_checkpoint

    ck = load_checkpoint(_good_checkpoint())
    assert ck.config.hidden == (8,) and ck.history[0]["valid_nll"] == 2.0


# ---------------------------------------------------------------------------------------------
# command line

CLI_CASES = {
    "--hidden 0,-3": (["train", "bars2", "--hidden", "0,-3"], "0 is not a valid size"),
    "--hidden abc": (["train", "bars2", "--hidden", "abc"], "'abc' is not a whole number"),
    "--lr nan": (["train", "bars2", "--lr", "nan"], "learning rate must be a finite number"),
    "--lr inf": (["train", "bars2", "--lr", "inf"], "learning rate must be a finite number"),
    "--lr abc": (["train", "bars2", "--lr", "abc"], "invalid float value"),
    "--epochs -1": (["train", "bars2", "--epochs", "-1"], "number of epochs must be at least 1"),
    "--batch-size 0": (["train", "bars2", "--batch-size", "0"], "batch size must be at least 1"),
    "--masks 0": (["train", "bars2", "--masks", "0"], "number of masks must be between 1 and 64"),
    "--valid-fraction 1.5": (["train", "bars2", "--valid-fraction", "1.5"], "validation fraction must be in [0, 1)"),
    "non-permutation order": (["train", "bars2", "--order", "1,1,1,0"], "pixel 1 appears twice"),
    "unknown dataset": (["train", "cifar10"], "unknown dataset"),
    "missing file": (["train", "/nonexistent/train.npz"], "no such file"),
    "not a data file": (["train", __file__], "unrecognised file format"),
    "missing checkpoint": (["eval", "/nonexistent/model.pt"], "no such checkpoint file"),
    "not a checkpoint": (["sample", __file__], "not a torch zip archive"),
    "unwritable --out": (["train", "bars2", "--out", "/nonexistent/dir/m.pt"], "does not exist"),
    "unknown command": (["frobnicate"], "invalid choice"),
    "no command": ([], "choose a command"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_bad_command_line_gives_one_error_line_and_status_2(case, capsys):
    from made_viz.cli import main

    argv, fragment = CLI_CASES[case]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("made-viz: error: ") and fragment in err[-1], err
    assert not any("Traceback" in line for line in err)


# ---------------------------------------------------------------------------------------------
# every page, not just Home


@pytest.mark.parametrize(
    "page", ["made_viz/app_pages/architecture.py", "made_viz/app_pages/train.py", "made_viz/app_pages/sample.py"]
)
def test_every_page_survives_a_bad_link_and_bad_sidebar_text(page):
    at = run_app({"hidden": "-1", "order": "9,9"})
    assert any("link's architecture is not valid" in m for m in messages(at))
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} did not render"
    before = at.session_state[CFG]
    at.text_input(key="w_hidden").set_value("7, zero").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("'zero' is not a whole number" in m for m in messages(at)), messages(at)
    assert at.session_state[CFG] == before and at.title


@pytest.mark.parametrize(
    "page", ["made_viz/app_pages/architecture.py", "made_viz/app_pages/train.py", "made_viz/app_pages/sample.py"]
)
def test_sidebar_controls_keep_the_architecture_across_a_page_switch(page):
    """No state is lost by moving to another page: the sidebar still shows the session's
    architecture, and the next valid edit builds on it (not on blank controls)."""
    at = run_app()
    at.text_input(key="w_hidden").set_value("21").run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.text_input(key="w_hidden").value == "21"
    assert (at.number_input(key="w_height").value, at.number_input(key="w_width").value) == (8, 8)
    at.text_input(key="w_hidden").set_value("21, 9").run()
    assert not at.exception and not at.error, messages(at)
    assert at.session_state[CFG] == DEFAULT.replace(hidden=(21, 9))


@pytest.mark.parametrize("text", ["1," * 100, "x" * 200, "9" * 60])
def test_a_long_refused_text_is_quoted_short(text):
    """The sidebar quotes what was refused, but at most 40 characters of it (the soak's students pasted 200)."""
    at = run_app()
    _hidden(text)(at)
    quoted = [m for m in messages(at) if m.startswith("Hidden layers “")]
    assert quoted, messages(at)
    for m in quoted:
        assert text[:40] + "…”" in m and text[:41] not in m, m
