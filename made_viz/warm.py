"""A warm server: what every first visit needs is done once, before the server accepts its first student.

On a freshly started server the first class burst (30 students opening the link and the Architecture page
within the same second) queued behind the first runs' imports (torch, plotly and its validators, the
library, the pages' modules) and empty caches: p95 12.9 s against 2.65 s for the same burst later.

`warm_process()` runs the real app once in this process, page by page, with Streamlit's own
`streamlit.testing` runner (AppTest) before `launch.serve` starts the server. That is not an imitation of a
first visit but one: the router, every page's script and the widgets' defaults run as a student's would.
What it leaves behind is what the server then shares with every session:

- the modules in `sys.modules` (torch, plotly, the library, `made_viz.app_pages.*`);
- `st.cache_resource` entries (the default preset's masks and figures, the Sample page's pre-trained
  model): that cache is one per process, not per runtime, so the server's sessions find them
  (`test_warm.py` checks it);
- plotly's lazily built validators and the JSON encoder's first use, the embedded data sets' arrays;
- the training worker processes (`worker_pool.POOL`), started first so that they import torch at their
  lower priority while the rest warms up, and the first Start of the class does not wait for them.

`st.cache_data`'s registry is process-wide too, but its entries live in the storage of the runtime that made
them (AppTest's in-memory one), so only `cache_resource` is relied on here (the pages cache their figures
there). At the end the warmed objects join the garbage collector's frozen
generation (`gc.freeze`, as `ui.prepare_process` does for the imports), so later collections skip them.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator

# the pages a first visit reaches, in the order a class goes through them; the first is the default page
WARM_PAGES = ("home", "architecture", "train", "sample")
RUN_TIMEOUT_S = 120.0  # one page's first run on a busy 2-core machine: imports take most of it
# Streamlit's warnings for code run outside a server ("No runtime found", "missing ScriptRunContext"):
# true and harmless during the warm-up, alarming in a teacher's terminal
QUIET_LOGGERS = ("streamlit.runtime.caching.cache_data_api", "streamlit.runtime.scriptrunner_utils.script_run_context")


def heavy_imports() -> None:
    """The modules every first run imports (what a cold burst queues behind)."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401  (see ui.prepare_process: plotly peeks at it without importing it)
    import plotly.graph_objects  # noqa: F401
    import plotly.io  # noqa: F401
    import torch  # noqa: F401

    from . import checkpoint, figures, graph, masks, model, pretrained, sampling, train  # noqa: F401
    from .app_pages import architecture_work, sample_panels, train_panels  # noqa: F401


def start_training_workers() -> None:
    """Start the pool of training workers (process backend only); returns at once."""
    from . import session, worker_pool

    if session.backend_name() == "process":
        worker_pool.POOL.start()


def embedded_data() -> None:
    """Read the embedded data sets the default pages show (digits8 is the default preset's)."""
    from .data import load_dataset

    load_dataset("digits8")


def run_pages(pages: tuple[str, ...] = WARM_PAGES, script: str | None = None) -> None:
    """Run the app's entry script once and then each page, in this process, as a student's session would.

    Raises RuntimeError if a page shows an exception: a server that cannot draw its own pages should
    say so at start, not in front of the class (with the real message: students' servers redact it)."""
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.util import patch_config_options

    from .app_pages import page_path
    from .launch import app_script

    main = script or str(app_script())
    at = AppTest.from_file(main, default_timeout=RUN_TIMEOUT_S)
    with patch_config_options({"client.showErrorDetails": "full"}):
        at.run()
        _check(at, pages[0] if pages else "home")
        for name in pages[1:]:
            at.switch_page(page_path(name)).run()
            _check(at, name)


def _check(at, name: str) -> None:
    if at.exception:
        raise RuntimeError(f"warm-up: the {name} page failed: {at.exception[0].message}")


def freeze_warmed_objects() -> None:
    """Move what the warm-up built out of the garbage collector's sight (see ui.prepare_process)."""
    gc.collect()
    gc.freeze()


STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("training workers", start_training_workers),
    ("imports", heavy_imports),
    ("embedded data", embedded_data),
    ("one run of every page", run_pages),
    ("gc freeze", freeze_warmed_objects),
)


@contextlib.contextmanager
def quiet_streamlit_warnings() -> Iterator[None]:
    """Silence the QUIET_LOGGERS' warnings for the warm-up only."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def warm_process() -> dict[str, float]:
    """Warm this process before it serves students; returns the seconds each step took."""
    took = {}
    with quiet_streamlit_warnings():
        for name, step in STEPS:
            t0 = time.perf_counter()
            step()
            took[name] = round(time.perf_counter() - t0, 2)
    return took
