"""The wheel is whole: built from the checkout, installed with pip into a fresh virtual environment, and used
from a folder outside the checkout, it trains on an embedded data set, evaluates a shipped pre-trained model
and serves the app (health endpoint, one page drawn in chromium).

The virtual environment is made with `--system-site-packages`: installing the dependencies into it (torch's
CPU wheel from /opt/wheels, streamlit and its ~40 dependencies from the local index) takes several minutes on
this 2-core machine, so they come from the system's site-packages, and so does pip (a venv made without pip
saves its ensurepip step; the system's pip, run by the venv's python, installs into the venv). The package
itself is installed into the venv from the wheel (`--force-reinstall --no-deps`: the system also holds an
editable install of the checkout, which pip would otherwise take as "already satisfied"), and every command
runs with a clean PYTHONPATH in a folder outside the checkout; `made_viz.__file__` is asserted to lie in the
venv, so the test cannot pass by importing the checkout. Takes about 1-2 minutes (most of it the app's warm-up).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, wait_idle

pytestmark = pytest.mark.timeout(600)
SOURCES = ("pyproject.toml", "README.md", "made_viz")  # what the build needs (copied: no build/ in the checkout)


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MADE_VIZ_"))}
    env.update(
        HOME=str(home),
        MADE_VIZ_THREADS="1",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        OMP_NUM_THREADS="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def build_wheel(out: Path) -> Path:
    src = out / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(src),
            "-w",
            str(out / "dist"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = (out / "dist").glob("made_viz-*.whl")
    return wheel


class Installed:
    """A venv with the wheel installed, and a folder outside the checkout to run in."""

    def __init__(self, base: Path):
        self.base = base
        self.wheel = build_wheel(base / "build")
        self.venv = base / "venv"
        venv.EnvBuilder(system_site_packages=True, with_pip=False).create(self.venv)
        self.bin = self.venv / "bin"
        self.work = base / "elsewhere"
        self.work.mkdir()
        self.env = clean_env(base)
        self.run(
            [str(self.bin / "python"), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(self.wheel)],
            timeout=300,
        )

    def run(self, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        done = subprocess.run(argv, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done

    def python(self, code: str) -> str:
        return self.run([str(self.bin / "python"), "-c", code]).stdout.strip()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("wheel"))


def test_the_installed_package_is_the_wheels_not_the_checkouts(installed):
    where = Path(installed.python("import made_viz; print(made_viz.__file__)"))
    assert where.is_relative_to(installed.venv), where
    assert not where.is_relative_to(ROOT)
    assert (installed.bin / "made-viz").is_file()


def test_the_wheel_carries_the_data_sets_models_and_app(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for must in (
        "made_viz/assets/digits8.npz",
        "made_viz/assets/pretrained/index.json",
        "made_viz/assets/pretrained/digits8.pt",
        "made_viz/streamlit_app.py",
        "made_viz/app_pages/architecture.py",
        "made_viz/__main__.py",
        "made_viz/warm.py",
    ):
        assert must in names, must


def test_train_on_an_embedded_data_set_from_another_folder(installed):
    done = installed.run(
        [
            str(installed.bin / "made-viz"),
            "train",
            "digits8",
            "--epochs",
            "1",
            "--hidden",
            "32",
            "--out",
            "m.pt",
            "--json",
            "-q",
        ]
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["d"] == 64 and summary["test_nll"] > 0
    assert (installed.work / "m.pt").is_file()


def test_eval_of_a_shipped_pretrained_model(installed):
    found = json.loads(
        installed.python(
            "import json; from made_viz.pretrained import list_pretrained, pretrained_dir\n"
            "p = next(p for p in list_pretrained() if p.name == 'digits8')\n"
            "print(json.dumps({'path': str(pretrained_dir() / p.file), 'nll': p.test_nll_1}))"
        )
    )
    assert Path(found["path"]).is_relative_to(installed.venv)
    done = installed.run([str(installed.bin / "made-viz"), "eval", found["path"], "--json", "-q"])
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["test_nll"] == pytest.approx(found["nll"], abs=1e-3)  # the index's figure, recomputed


class PortTaken(Exception):
    """The random port was in use: try another."""


def start_app(installed: Installed, tries: int = 5) -> tuple[subprocess.Popen, int, str]:
    """`made-viz app` on a random high port, retried on a clash (as conftest.serve does): a port found free
    and released before the server binds it could be taken by another job in between."""
    for attempt in range(tries):
        port = random.randint(20_000, 60_000)
        log = installed.base / f"app{attempt}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(installed.bin / "made-viz"), "app", "--port", str(port)],
                cwd=installed.work,
                env=installed.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            return proc, port, wait_ready(proc, log, timeout=300)
        except PortTaken:
            proc.wait(30)
        except BaseException:
            stop(proc)
            raise
    raise AssertionError(f"made-viz app found no free port in {tries} tries")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the group this test started
    proc.wait(30)


def test_made_viz_app_serves_and_a_page_renders(installed, page):
    proc, port, url = start_app(installed)
    try:
        assert url == f"http://localhost:{port}"
        assert urllib.request.urlopen(f"{url}/_stcore/health", timeout=10).read() == b"ok"
        page.goto(f"http://127.0.0.1:{port}/architecture")
        # generous: the first browser run on a machine shared by many jobs (load 30 on 2 cores seen) is slow
        expect(page.get_by_text("Hidden layers").first).to_be_visible(timeout=300_000)
        wait_idle(page, timeout=300_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        stop(proc)


def wait_ready(proc: subprocess.Popen, log: Path, timeout: float) -> str:
    """The URL of the ready line (printed once the server listens, after the warm-up); PortTaken if the
    app exited because its port was in use."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = log.read_text()
        m = re.search(r"MADE Explorer is ready\. Open (http://\S+) in a browser", text)
        if m:
            return m.group(1)
        if proc.poll() is not None:
            if "already in use" in text:
                raise PortTaken(text[-300:])
            raise AssertionError(f"made-viz app exited:\n{text[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"made-viz app not ready after {timeout} s:\n{log.read_text()[-3000:]}")
