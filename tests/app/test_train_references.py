"""The Train page's published figures (AppTest): the reference's and the paper's test NLLs as lines on
the MNIST curves (never for digits8), Figure 2 "what more masks buy" from the committed file with the
student's own K marked, and a clear message when that file is damaged. MNIST trains 20 steps only."""

from __future__ import annotations

import json

import pytest

from made_viz import paper
from tests.app.test_train_page import choose_builtin, click, open_train, run_obj, texts

PUBLISHED = ("reference, 1 x 500: 93.44", "paper, 1 layer: 88.40", "paper best: 86.64")


def chart(at, key: str) -> dict:
    """The plotly figure (as JSON) the page drew under `key`."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"no chart {key}"
    return json.loads(found[0].proto.spec)


def trace_names(fig: dict) -> list[str]:
    return [t.get("name", "") for t in fig["data"]]


def train_a_little(at, name: str):
    choose_builtin(at, name)
    at.number_input(key="t_epochs").set_value(2000).run()
    click(at, "t_steps")  # 20 minibatches, then paused
    return run_obj(at)


def test_mnist_curves_show_the_published_lines_in_both_units():
    at = open_train()
    run = train_a_little(at, "mnist")
    names = trace_names(chart(at, "t_curve"))
    assert names[0] == "training"
    assert [n for n in names if n.startswith(("reference", "paper"))] == list(PUBLISHED)
    assert any(n.startswith("independent pixels: ") for n in names)  # beside the baseline
    at.segmented_control(key="t_unit").set_value("bits").run()
    fig = chart(at, "t_curve")
    y = {t["name"].split(":")[0]: t["y"][0] for t in fig["data"] if t["name"].startswith(("reference", "paper"))}
    assert y == pytest.approx(
        {
            "reference, 1 x 500": 93.44 / (784 * 0.6931471805599453),
            "paper, 1 layer": 88.40 / (784 * 0.6931471805599453),
            "paper best": 86.64 / (784 * 0.6931471805599453),
        }
    )
    assert run.dataset.name == "mnist"


def test_digits8_curves_have_no_published_lines():
    at = open_train()
    train_a_little(at, "digits8")
    names = trace_names(chart(at, "t_curve"))
    assert any(n.startswith("independent pixels") for n in names)
    assert not [n for n in names if n.startswith(("reference", "paper"))]


def masks_chart(at) -> dict:
    return chart(at, "t_masks")


def test_what_more_masks_buy_marks_the_students_K_on_mnist(tmp_path, monkeypatch):
    raw = json.loads(paper.results_path().read_text(encoding="utf-8"))
    raw["figure2"]["measured"].update(
        points=[
            {"masks": 1, "nll_one_mask": 93.25, "nll_ensemble": 93.25},
            {"masks": 8, "nll_one_mask": 95.75, "nll_ensemble": 89.5},
        ],
        command="python bench/bench_paper.py",
        date="2026-11-30",
        machine="the test machine",
    )
    path = tmp_path / "paper_results.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setattr(paper, "results_path", lambda: path)
    at = open_train()
    at.sidebar.number_input(key="w_masks").set_value(2).run()
    run = train_a_little(at, "mnist")
    click(at, "t_stop")
    ev = run.evaluate()
    fig = masks_chart(at)
    by = {t["name"]: t for t in fig["data"]}
    assert by["measured: one mask at test"]["y"] == [93.25, 95.75]
    assert by["measured: ensemble of all masks"]["y"] == [93.25, 89.5]
    assert by["paper (read off Fig. 2)"]["y"] == [94.5]
    assert by["you: one mask"]["x"] == [ev["K"]] and by["you: one mask"]["y"] == pytest.approx([ev["nll_1"]])
    assert ev["K"] == 2 and by["you: ensemble"]["y"] == pytest.approx([ev["nll_ensemble"]])
    caption = texts(at.caption)
    assert "Precomputed on the test machine (2026-11-30), `python bench/bench_paper.py`." in caption


def test_what_more_masks_buy_shows_the_committed_figure_and_no_you_for_digits8():
    at = open_train()
    train_a_little(at, "digits8")
    click(at, "t_stop")
    names = trace_names(masks_chart(at))
    assert names == ["measured: one mask at test", "measured: ensemble of all masks", "paper (read off Fig. 2)"]
    caption = texts(at.caption)
    assert "Precomputed on" in caption and "bench_paper" in caption
    assert "Train on MNIST to see your own model here." in caption


def test_damaged_results_file_gives_a_clear_message(tmp_path, monkeypatch):
    path = tmp_path / "paper_results.json"
    path.write_text('{"schema": 1, "published": [', encoding="utf-8")
    monkeypatch.setattr(paper, "results_path", lambda: path)
    at = open_train()
    train_a_little(at, "mnist")
    warning = texts(at.warning)
    assert "The published results file paper_results.json is damaged" in warning
    assert "The published figures are not shown." in warning
    assert not [n for n in trace_names(chart(at, "t_curve")) if n.startswith(("reference", "paper"))]
    click(at, "t_stop")
    assert not at.exception and not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-t_masks")]
