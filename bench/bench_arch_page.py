"""Benchmark of the Architecture page, server side (streamlit.testing), printed as JSON.

    python bench/bench_arch_page.py [--reruns 15]

For D=64 with hidden (128, 128) (target: median rerun <= 300 ms) and D=784 with hidden (500,):
  first_load_s      first run of the page in a fresh session (masks, Jacobian check, figures built);
  rerun_median_ms   median of plain reruns (what every widget interaction costs at least);
  trace_median_ms   median rerun after picking a different unit to trace (a new network figure);
  figure_bytes      plotly JSON sent to the browser for all charts of the page / the network alone
                    (target for D=784: < 2 MB).
Library side (no page), also alone with --library-only:
  forbidden_edges_d4096_s   red edges + one trace's edge sets for D=4096, hidden (1000,), rule ">="
                            (target: < 20 s; the unit test checks only the values);
  connectivity_peak_mb      extra memory of the masks' product for D=784, hidden (2048, 2048)
                            (blocked: a block plus the D x H result, never a float copy of a mask).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

CASES = {
    "d64_hidden128x128": {"d": "64", "shape": "8x8", "hidden": "128,128"},
    "d784_hidden500": {"d": "784", "shape": "28x28", "hidden": "500"},
}


def chart_bytes(at: AppTest) -> tuple[int, int]:
    total = net = 0
    for el in at.get("plotly_chart"):
        n = len(el.proto.spec.encode())
        total += n
        if any(t.get("name") in ("units", "bundles") for t in json.loads(el.proto.spec)["data"]):
            net = n
    return total, net


def bench(query: dict, reruns: int) -> dict:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    t = time.perf_counter()
    at.switch_page("made_viz/app_pages/architecture.py").run()
    first = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    plain = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        plain.append(time.perf_counter() - t)
    n_options = len(at.selectbox(key="w_trace").options)
    keys = [f"u:{len(query['hidden'].split(',')) + 1}:{j}" for j in range(reruns)]  # outputs 0, 1, 2, ...
    traced = []
    for key in keys:
        t = time.perf_counter()
        at.selectbox(key="w_trace").set_value(key).run()
        traced.append(time.perf_counter() - t)
        assert not at.exception, [e.value for e in at.exception]
    total, net = chart_bytes(at)
    return {
        "first_load_s": round(first, 3),
        "rerun_median_ms": round(1000 * statistics.median(plain), 1),
        "rerun_max_ms": round(1000 * max(plain), 1),
        "trace_median_ms": round(1000 * statistics.median(traced), 1),
        "figure_bytes_all_charts": total,
        "figure_bytes_network": net,
        "trace_options": n_options,
    }


def bench_library() -> dict:
    """Speed of the forbidden-path search at the largest D, memory of the masks' product."""
    import tracemalloc

    from made_viz import forbidden, graph
    from made_viz.config import Config
    from made_viz.masks import build_masks

    ms = build_masks(Config(d=4096, shape=(64, 64), hidden=(1000,), masking="nonstrict"))
    t = time.perf_counter()
    forbidden.forbidden_edges(ms)
    forbidden.trace_edges(ms, graph.trace(ms, 2, 100))
    seconds = time.perf_counter() - t
    wide = build_masks(Config(d=784, shape=(28, 28), hidden=(2048, 2048)))
    tracemalloc.start()
    wide.connectivity()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"forbidden_edges_d4096_s": round(seconds, 2), "connectivity_peak_mb": round(peak / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reruns", type=int, default=15)
    ap.add_argument("--library-only", action="store_true", help="only the library figures (no page runs)")
    args = ap.parse_args()
    out = {} if args.library_only else {name: bench(q, args.reruns) for name, q in CASES.items()}
    out["library"] = bench_library()
    out["targets"] = {"d64_rerun_median_ms": 300, "d784_figure_bytes": 2_000_000, "forbidden_edges_d4096_s": 20}
    out["ok"] = out["library"]["forbidden_edges_d4096_s"] < 20 and (
        args.library_only
        or (
            out["d64_hidden128x128"]["rerun_median_ms"] <= 300
            and out["d784_hidden500"]["figure_bytes_all_charts"] < 2_000_000
        )
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
