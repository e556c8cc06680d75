"""The warm-up (made_viz/warm.py) really warms what the server's sessions use: one real run of every page
fills the process-wide caches, so a student's first Architecture run finds the default preset's masks and
figures instead of building them while a class queues behind it."""

from __future__ import annotations

import logging
import sys

import pytest

from made_viz import warm


def resource_cache_entries() -> dict[str, int]:
    """Number of entries per st.cache_resource function in this process (Streamlit's process-wide registry)."""
    from streamlit.runtime.caching.cache_resource_api import _resource_caches

    out: dict[str, int] = {}
    for caches in _resource_caches._function_caches.values():
        for cache in caches.values():
            out[cache.display_name] = out.get(cache.display_name, 0) + len(cache._mem_cache)
    return out


@pytest.fixture(scope="module")
def warmed():
    """One warm-up in this test process (as launch.serve does before the server listens)."""
    import streamlit as st

    st.cache_resource.clear()
    took = warm.warm_process()
    return took, resource_cache_entries()


def test_every_step_ran(warmed):
    took, _ = warmed
    assert list(took) == [name for name, _ in warm.STEPS]
    assert all(seconds >= 0 for seconds in took.values())


def test_the_default_presets_masks_and_figures_are_cached(warmed):
    _, entries = warmed
    for cached in ("mask_set", "network_fig"):
        assert any(cached in name and n > 0 for name, n in entries.items()), f"{cached} not warmed: {entries}"


def test_a_later_run_finds_the_warm_entries_instead_of_building_them(warmed):
    """The caches are the process's, not the warm-up runner's: the default preset's mask set asked for again
    (as a server session's first run asks for it) is the warmed object, and no entry is added."""
    from made_viz import ui
    from made_viz.app_pages import architecture_work as A
    from made_viz.config import config_json

    _, warmed_entries = warmed
    assert warmed_entries[A.__name__ + ".small_mask_set"] > 0
    before = resource_cache_entries()  # (other tests of this module may have added entries since the warm-up)
    cj = config_json(ui.PRESETS[ui.DEFAULT_PRESET].cfg)
    first = A.mask_set(cj, 0)
    assert resource_cache_entries() == before
    assert A.mask_set(cj, 0) is first


def test_the_heavy_modules_are_imported(warmed):
    for module in (
        "torch",
        "plotly.graph_objects",
        "made_viz.app_pages.architecture_work",
        "made_viz.app_pages.sample_panels",
        "made_viz.app_pages.train_panels",
    ):
        assert module in sys.modules


def test_a_page_that_fails_stops_the_warm_up_with_one_sentence(tmp_path):
    broken = tmp_path / "broken_app.py"
    broken.write_text("import streamlit as st\nst.write('hello')\nraise RuntimeError('the page is broken')\n")
    with pytest.raises(RuntimeError, match="warm-up: the home page failed: .*the page is broken"):
        warm.run_pages(pages=("home",), script=str(broken))


def test_streamlits_outside_a_server_warnings_are_quiet_only_during_the_warm_up():
    lg = logging.getLogger(warm.QUIET_LOGGERS[0])
    level = lg.level
    with warm.quiet_streamlit_warnings():
        assert not lg.isEnabledFor(logging.WARNING)
    assert lg.level == level


def test_modules_other_libraries_peek_at_are_imported_before_students_arrive():
    """plotly checks `sys.modules.get("pandas")` without importing it (is this a Series?). When a page's
    first use of st.dataframe imported pandas in one student's thread, another student's figure saw the
    half-imported module: `AttributeError: partially initialized module 'pandas' has no attribute
    'Series'` (bench/ws_load.py, 30 students, 13 pages broke). Both warm paths import it whole first."""
    import subprocess

    for call in ("from made_viz import ui; ui.prepare_process()", "from made_viz import warm; warm.heavy_imports()"):
        code = f"import sys; {call}; print('pandas' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert out.stdout.strip().splitlines()[-1] == "True", (call, out.stderr[-2000:])


def test_big_mask_sets_are_few_in_the_shared_cache():
    """A student trying seed after seed of a big network must not fill the server with masks: at most 4
    mask sets above BIG_MASK_SET weights are kept, while small ones still share the roomy cache."""
    from made_viz.app_pages import architecture_work as A
    from made_viz.config import Config, config_json

    big = Config(d=64, shape=(8, 8), hidden=(1000, 1000))
    assert big.num_weights > A.BIG_MASK_SET
    A.big_mask_set.clear()
    first = A.mask_set(config_json(big), 0)
    for seed in range(1, 8):
        A.mask_set(config_json(big.replace(seed=seed)), 0)
    assert resource_cache_entries()[A.__name__ + ".big_mask_set"] == 4
    assert A.mask_set(config_json(big), 0) is not first  # the oldest was dropped
    small = config_json(Config(d=4, hidden=(8,)))
    assert A.mask_set(small, 0) is A.mask_set(small, 0)
