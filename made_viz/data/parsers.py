"""Parsers of untrusted data files: IDX (MNIST ubyte), ``.npy``, ``.npz``, ``.amat`` text, gzip.

Each turns bytes into the arrays found in the file (:class:`_Raw`, before binarization) and
nothing else: pickles are refused, declared sizes (``.npy`` and IDX headers) are checked against
the bytes present before anything is allocated, gzip and ``.npz`` members are stream-decompressed
up to :data:`MAX_BYTES`, and every problem is a one-line :class:`DataError` naming the file.
"""

from __future__ import annotations

import io
import lzma
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataError, _check_pixels, _fail, _reason, _size
from .layout import _from_asset_layout, _Raw

MAX_BYTES = 512 * 2**20
"""Largest file (after gzip decompression) the loaders accept."""

_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801
_FORMATS_HINT = "supported: IDX (MNIST ubyte, optionally .gz), .npz, .npy, .amat"
_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    RuntimeError,
    OverflowError,
    UnicodeError,
    zlib.error,
    struct.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    lzma.LZMAError,
)
"""What numpy, zipfile, gzip/zlib, struct and text decoding raise on a damaged file."""


def _parse(data: bytes, source: str, lower_name: str) -> _Raw:
    """Dispatch on magic bytes, then on the file name."""
    if data.startswith(b"\x93NUMPY"):
        return _Raw(_parse_npy(data, source))
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _parse_npz(data, source)
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        _fail(
            source,
            "is a Python pickle, which is refused for safety (it can run code); "
            "save the arrays with numpy.savez instead",
        )
    suffix = Path(lower_name).suffix
    if data[:2] == b"\x00\x00" or "ubyte" in lower_name or suffix in (".idx", ".idx3"):
        return _Raw(_parse_idx(data, source))
    if suffix == ".npy":
        _fail(source, "is not a valid .npy file (bad header)")
    if suffix == ".npz":
        _fail(source, "is not a valid .npz file (not a zip archive)")
    if suffix in (".amat", ".txt") or _looks_like_text(data):
        return _Raw(_parse_text(data, source))
    _fail(source, f"unrecognised file format; {_FORMATS_HINT}")


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress (possibly multi-member) gzip data, refusing more than MAX_BYTES."""
    parts, total, rest = [], 0, data
    while rest[:2] == b"\x1f\x8b":
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = decoder.decompress(rest, MAX_BYTES + 1 - total)
        except zlib.error as exc:
            _fail(source, f"gzip data is damaged ({_reason(exc)}); try downloading the file again")
        total += len(out)
        parts.append(out)
        if total > MAX_BYTES or decoder.unconsumed_tail:
            _fail(source, f"decompresses to more than {_size(MAX_BYTES)}")
        if not decoder.eof:
            _fail(source, "gzip data is truncated (incomplete download?)")
        rest = decoder.unused_data
    return b"".join(parts)


def _parse_idx(data: bytes, source: str, *, labels: bool = False) -> np.ndarray:
    """IDX ubyte file -> (N, rows, cols) images, or (N,) labels if ``labels``."""
    if len(data) < 4:
        _fail(source, "is too short to be an IDX file")
    magic = int.from_bytes(data[:4], "big")
    want = _IDX_LABELS_MAGIC if labels else _IDX_IMAGES_MAGIC
    if magic != want:
        if magic == _IDX_LABELS_MAGIC:
            _fail(source, "is an IDX label file (magic 0x00000801), not images")
        kind = "labels" if labels else "images"
        _fail(source, f"bad magic number 0x{magic:08X}; expected 0x{want:08X} for IDX {kind} (unsigned bytes)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        _fail(source, "IDX header is truncated")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[0] == 0:
        _fail(source, f"contains no {'labels' if labels else 'images'} (count is 0)")
    if not labels:
        if 0 in dims[1:]:
            _fail(source, f"images have size {dims[1]}x{dims[2]}")
        _check_pixels(dims[1] * dims[2], source)
    expected, got = math.prod(dims), len(data) - header
    what = f"{dims[0]} labels" if labels else f"{dims[0]} images of {dims[1]}x{dims[2]}"
    if got < expected:
        _fail(source, f"is truncated: header promises {what} ({expected:,} bytes) but only {got:,} follow")
    if got > expected:
        _fail(source, f"size mismatch: header promises {what} ({expected:,} bytes) but {got:,} follow")
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(dims)


def _parse_npy(data: bytes, source: str) -> np.ndarray:
    """One array from ``.npy`` bytes, never unpickling.

    The header is read and checked first (no Python objects, declared size
    equal to the bytes that follow), so a header declaring a gigantic shape
    is refused before any memory is allocated.  The result is a read-only
    view of ``data``.
    """
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
    except _READ_ERRORS as exc:
        _fail(source, f"is not a valid .npy file ({_reason(exc)})")
    if version not in ((1, 0), (2, 0)):
        _fail(
            source,
            f"uses .npy format version {version[0]}.{version[1]}, which is not supported (save it with numpy.save)",
        )
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran_order, dtype = read_header(fp)
    except Exception as exc:  # noqa: BLE001 - the header is untrusted text parsed by ast/tokenize/numpy
        _fail(source, f"is not a valid .npy file (bad header: {_reason(exc)})")
    if dtype.hasobject:
        _fail(source, "contains Python objects (pickled data), which is refused for safety")
    if any(n < 0 for n in shape):
        _fail(source, f"is not a valid .npy file (header declares a negative size {shape})")
    offset = fp.tell()
    count = math.prod(shape)
    declared, available = count * dtype.itemsize, len(data) - offset
    if declared > available:
        _fail(
            source,
            f"is truncated or damaged: its header declares an array of shape {shape} "
            f"({_size(declared)}) but only {_size(available)} of data follow",
        )
    if declared < available:
        _fail(source, f"is damaged: {_size(available - declared)} of unexpected data follow the array of shape {shape}")
    try:
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    except ValueError as exc:
        _fail(source, f"is not a valid .npy file ({_reason(exc)})")
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


_MAX_ZIP_MEMBERS = 4096
"""More entries than this in an ``.npz`` is not a dataset (and listing them costs memory)."""


class _NpzArchive:
    """The ``.npy`` members of a zip archive, read lazily and safely.

    Members are stream-decompressed with a running byte cap (``MAX_BYTES`` in
    total, whatever the zip headers claim), then parsed by :func:`_parse_npy`.
    Same interface as numpy's ``NpzFile`` for what this module uses:
    ``.files`` and ``archive[key]``.
    """

    def __init__(self, data: bytes, source: str):
        self.source = source
        self.budget = MAX_BYTES
        if data.count(b"PK\x01\x02") > _MAX_ZIP_MEMBERS:
            _fail(source, f"archive has more than {_MAX_ZIP_MEMBERS} entries; an .npz dataset holds a few arrays")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except _READ_ERRORS as exc:
            _fail(source, f"is not a readable .npz archive ({_reason(exc)})")
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename and not info.filename.endswith("/"):  # ZipInfo.is_dir() fails on ''
                key = info.filename.removesuffix(".npy")
                self.members.setdefault(key, info)
        self.files = list(self.members)

    def __getitem__(self, key: str) -> np.ndarray:
        info = self.members[key]
        if info.flag_bits & 0x1:
            _fail(self.source, f"array '{key}' is encrypted (password-protected); save the archive without a password")
        return _parse_npy(self._read(info, key), f"{self.source}, array '{key}'")

    def _read(self, info: zipfile.ZipInfo, key: str) -> bytes:
        chunks = []
        try:
            with self.zip.open(info) as member:
                while chunk := member.read(min(2**20, self.budget + 1)):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        _fail(self.source, f"decompresses to more than {_size(MAX_BYTES)} (limit for data files)")
                    chunks.append(chunk)
        except DataError:
            raise
        except _READ_ERRORS as exc:
            _fail(self.source, f"array '{key}' is damaged ({_reason(exc)})")
        return b"".join(chunks)


def _parse_npz(data: bytes, source: str) -> _Raw:
    """Pick train/test arrays from an ``.npz`` archive (see :func:`load_dataset`)."""
    archive = _NpzArchive(data, source)
    keys = set(archive.files)

    def get(key):
        return archive[key] if key in keys else None

    if {"train_bits", "test_bits", "shape"} <= keys:
        try:
            return _from_asset_layout(archive)
        except DataError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            _fail(source, f"damaged packed-bits arrays ({_reason(exc)})")
    if "train_data" in keys:  # binarized MNIST (Larochelle & Murray 2011): its validation split is kept
        return _Raw(get("train_data"), get("test_data"), valid=get("valid_data"))
    for train_key, test_key, ytrain, ytest in (
        ("x_train", "x_test", "y_train", "y_test"),
        ("train", "test", "train_labels", "test_labels"),
    ):
        if train_key in keys:
            return _Raw(get(train_key), get(test_key), get(ytrain), get(ytest))
    if len(keys) == 1:
        return _Raw(get(next(iter(keys))))
    if not keys:
        _fail(source, "archive contains no arrays")
    shown = sorted(keys)
    listed = ", ".join(k[:30] for k in shown[:8]) + (", ..." if len(shown) > 8 else "")
    _fail(
        source,
        f"don't know which arrays to use (keys: {listed}); expected "
        f"train_data/valid_data/test_data, x_train/x_test, train/test or a single array",
    )


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    return bool(head.strip()) and all(c in b"0123456789.eE+- \t\r\n" for c in head)


def _parse_text(data: bytes, source: str) -> np.ndarray:
    """``.amat`` text: one image per non-empty line, whitespace-separated numbers."""
    buf = np.frombuffer(data, dtype=np.uint8)
    space = (buf == 32) | (buf == 9) | (buf == 10) | (buf == 13)
    token = ~space
    if not token.any():
        _fail(source, "contains no images (empty text file)")
    starts = token.copy()
    starts[1:] &= space[:-1]
    chars = buf[token]
    if starts.sum() == token.sum() and bool(np.all((chars == 48) | (chars == 49))):
        # Fast path for the usual 0/1 files: every value is one character.
        line_of_value = np.cumsum((buf == 10) | (buf == 13))[token]
        counts = np.diff(np.flatnonzero(np.r_[True, np.diff(line_of_value) != 0, True]))
        _check_row_lengths(counts, source)
        return (chars - 48).reshape(len(counts), int(counts[0]))
    printable = (buf >= 32) & (buf < 127)
    if not bool(np.all(printable | space | (buf == 11) | (buf == 12))):
        _fail(source, "is not a text file of numbers (.amat: one image per line, values separated by spaces)")
    # General numbers, parsed line by line into one preallocated array (no huge lists of strings).
    lines = [line for line in data.splitlines() if line.strip()]
    if not lines:
        _fail(source, "contains no images (no numbers in the text file)")
    d = len(lines[0].split())
    _check_pixels(d, source)
    if len(lines) * d * 8 > MAX_BYTES:
        _fail(source, f"has {len(lines) * d:,} values, more than this app can hold ({_size(MAX_BYTES)} as numbers)")
    out = np.empty((len(lines), d), dtype=np.float64)
    for row, line in enumerate(lines):
        values = line.split()
        if len(values) != d:
            _fail(source, f"row {row + 1} has {len(values)} values but row 1 has {d}")
        try:
            out[row] = np.array(values, dtype=np.float64)
        except ValueError:
            bad = next((v for v in values if not _is_number(v)), values[0])
            shown = bad[:20].decode("ascii", "replace")
            _fail(
                source,
                f"row {row + 1} contains {shown!r}, which is not a number "
                f"(.amat: one image per line, values separated by spaces)",
            )
    return out


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_row_lengths(counts: np.ndarray, source: str) -> None:
    if counts.size == 0:
        _fail(source, "contains no images")
    bad = np.flatnonzero(counts != counts[0])
    if bad.size:
        _fail(source, f"row {bad[0] + 1} has {counts[bad[0]]} values but row 1 has {counts[0]}")
    _check_pixels(int(counts[0]), source)
