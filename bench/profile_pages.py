#!/usr/bin/env python
"""Where a page run's server time goes: cProfile around the app's own script runs, per scenario.

    python -m bench.profile_pages                      # every scenario, top 25 functions each
    python -m bench.profile_pages --top 40 --scenario arch_change --repeat 5
    python -m bench.profile_pages --sort tottime       # self time instead of cumulative time

Scenarios (each in its own streamlit.testing session, after one warm-up session of the same steps, so
the process's caches are as a served class finds them; the warm launcher `python -m made_viz` does the
same before it listens):
  arch_open     a new session opens the Architecture page (default preset, warm caches);
  arch_change   "Hidden layers" set to a size nobody had (31, 32, ...: a new config, its masks, check, figures
                and network view built for it) -- what each student of bench/ws_load.py's burst costs;
  arch_rerun    a plain rerun of the Architecture page (nothing changed);
  train_open    a session switches to the Train page;
  train_start   on the Train page (default preset, 8x8 digits), Start;
  train_stop    ... Stop, 0.5 s after Start (the worker's final count, the test NLL shown);
  train_steps   ... "+20 steps" from a fresh run;
  sample_open   a session switches to the Sample page (the pre-trained model's first animation);
  sample_seed   on the Sample page (the pre-trained model), "New seed" (the class's next seed: after the warm-up
                session, what the process has already built for another student);
  sample_own_seed  ... a seed typed that nobody had (a new trajectory and animation).

The profile is taken INSIDE the script thread (AppTest runs the page in a ScriptRunner thread that a
profiler enabled in the main thread would not see): the app's entry script is wrapped so that every
run enables a cProfile.Profile around `run_app()`. Pages are compiled once per process, as in a server
(see share_script_cache). Per run it also records the thread's CPU time
(time.thread_time): the server CPU a run costs, apart from the protobuf/websocket work Streamlit's
event loop does after the script (bench/ws_load.py measures the whole process).

Prints, per scenario: the runs' CPU (median, min, max ms) and the top functions by cumulative time
(summed over the scenario's profiled runs). --json prints the CPU figures only, as JSON; --cpu-only times
the runs without the profiler (whose overhead about doubles a run's CPU): the figures to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The wrapped entry script: the app's own router, profiled in the script thread.
WRAPPER = """
from bench import profile_pages as _pp
_pp.profiled_run()
"""

STATE = {"on": False, "profile": None, "cpu": []}


def profiled_run() -> None:
    """Run the app's router once; when a scenario is being measured, under cProfile and timed in CPU."""
    from made_viz.app_pages import run_app

    if not STATE["on"]:
        run_app()
        return
    prof = STATE["profile"]
    t0 = time.thread_time()
    if prof is not None:
        prof.enable()
    try:
        run_app()
    finally:
        if prof is not None:
            prof.disable()
        STATE["cpu"].append(time.thread_time() - t0)


def share_script_cache() -> None:
    """Compile each page once per process, as a server does (its Runtime holds one ScriptCache). AppTest makes a
    new ScriptCache for every run, so without this every profiled run would pay the page's compile and
    Streamlit's magic AST pass (~50 ms) that a served student never pays."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    if getattr(ScriptCache.get_bytecode, "shared", False):
        return
    shared, own = ScriptCache(), ScriptCache.get_bytecode

    def get_bytecode(self, script_path: str):
        return own(shared, script_path)

    get_bytecode.shared = True
    ScriptCache.get_bytecode = get_bytecode


def _page(name: str) -> str:
    from made_viz.app_pages import page_path

    return page_path(name)


def _app(script: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(script, default_timeout=300)


def _ok(at, what: str) -> None:
    if at.exception:
        raise RuntimeError(f"{what}: {at.exception[0].message}")


# --- scenarios: (prepare, act) -- prepare runs unmeasured, act is measured ---------------------------
def _on(script: str, page: str | None):
    """A fresh session on `page` (None: the home page), ready for the measured act."""
    at = _app(script)
    at.run()
    _ok(at, "home")
    if page is not None:
        at.switch_page(_page(page)).run()
        _ok(at, page)
    return at


def arch_open(script: str, i: int):
    at = _on(script, None)
    return lambda: at.switch_page(_page("architecture")).run()


def arch_change(script: str, i: int):
    at = _on(script, "architecture")
    size = 31 + i  # a size this process has not built yet (the warm-up's is 30), small as bench/ws_load.py's
    return lambda: at.text_input(key="w_hidden").set_value(str(size)).run()


def arch_rerun(script: str, i: int):
    at = _on(script, "architecture")
    return lambda: at.run()


def train_open(script: str, i: int):
    at = _on(script, "architecture")
    return lambda: at.switch_page(_page("train")).run()


def train_start(script: str, i: int):
    at = _on(script, "train")
    return lambda: at.button(key="t_start").click().run()


def train_stop(script: str, i: int):
    at = _on(script, "train")
    at.button(key="t_start").click().run()
    _ok(at, "start")
    time.sleep(0.5)  # the worker trains meanwhile (a page run would tick it; the Start's tick covers 1.5 ticks)
    return lambda: at.button(key="t_stop").click().run()


def train_steps(script: str, i: int):
    at = _on(script, "train")
    return lambda: at.button(key="t_steps").click().run()


def sample_open(script: str, i: int):
    at = _on(script, "architecture")
    return lambda: at.switch_page(_page("sample")).run()


def sample_seed(script: str, i: int):
    at = _on(script, "sample")
    return lambda: at.button(key="s_new").click().run()


def sample_own_seed(script: str, i: int):
    at = _on(script, "sample")
    return lambda: at.number_input(key="s_seed").set_value(1000 + i + int(time.time()) % 100000 * 10).run()


SCENARIOS = {
    f.__name__: f
    for f in (
        arch_open,
        arch_change,
        arch_rerun,
        train_open,
        train_start,
        train_stop,
        train_steps,
        sample_open,
        sample_seed,
        sample_own_seed,
    )
}


def measure(name: str, script: str, repeat: int, profile: bool = True) -> tuple[list[float], cProfile.Profile]:
    """Warm up once (unmeasured), then `repeat` fresh sessions, each profiled (or only timed) for its act."""
    scenario = SCENARIOS[name]
    act = scenario(script, -1)
    act()  # warm-up: first builds of anything this scenario needs
    STATE["profile"], STATE["cpu"] = cProfile.Profile() if profile else None, []
    for i in range(repeat):
        act = scenario(script, i)
        STATE["on"] = True
        try:
            at = act()
        finally:
            STATE["on"] = False
        _ok(at, name)
    return STATE["cpu"], STATE["profile"]


def top(prof: cProfile.Profile, n: int, sort: str) -> str:
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out)
    st.strip_dirs().sort_stats(sort).print_stats(n)
    text = out.getvalue()
    return text[text.find("   ncalls") :] if "   ncalls" in text else text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="default: all")
    ap.add_argument("--repeat", type=int, default=5, help="profiled sessions per scenario (default 5)")
    ap.add_argument("--top", type=int, default=25, help="functions shown per scenario (default 25)")
    ap.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"))
    ap.add_argument("--callers", default=None, help="also print who calls the functions matching this regex")
    ap.add_argument("--json", action="store_true", help="only the per-run CPU figures, as JSON")
    ap.add_argument(
        "--cpu-only", action="store_true", help="no profiler (its overhead ~doubles a run): the runs' CPU alone"
    )
    args = ap.parse_args(argv)
    import logging

    from made_viz.warm import QUIET_LOGGERS

    for lg in QUIET_LOGGERS:
        logging.getLogger(lg).setLevel(logging.ERROR)
    share_script_cache()
    with tempfile.TemporaryDirectory() as tmp:
        script = str(Path(tmp) / "app.py")
        Path(script).write_text(WRAPPER)
        results = {}
        for name in args.scenario or list(SCENARIOS):
            cpu, prof = measure(name, script, args.repeat, profile=not args.cpu_only)
            ms = [1000 * c for c in cpu]
            results[name] = {
                "runs": len(ms),
                "cpu_median_ms": round(statistics.median(ms), 1),
                "cpu_min_ms": round(min(ms), 1),
                "cpu_max_ms": round(max(ms), 1),
            }
            if not args.json and prof is not None:
                r = results[name]
                print(
                    f"=== {name}: {r['runs']} run(s), server CPU per run (script thread) median "
                    f"{r['cpu_median_ms']} ms (min {r['cpu_min_ms']}, max {r['cpu_max_ms']})"
                )
                print(top(prof, args.top, args.sort))
                if args.callers:
                    out = io.StringIO()
                    pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_callers(args.callers)
                    print(out.getvalue())
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":  # run as bench.profile_pages, the module the wrapped script imports (one STATE)
    from bench import profile_pages

    sys.exit(profile_pages.main())
