"""The exercises' truth and scoring: the truth is a brute-force path search over the masks, a right answer
scores, a wrong one does not and its explanation names the pixels."""

import itertools

import numpy as np
import pytest

from made_viz import exercises as X
from made_viz.config import Config
from made_viz.masks import build_masks

SMALL = [
    Config(d=6, shape=(2, 3), hidden=(5, 4), order="random", seed=s, masking=m)
    for s in range(4)
    for m in ("made", "nonstrict", "off")
] + [Config(d=5, hidden=(3,), seed=1, direct=True), Config(d=4, hidden=(), seed=2)]


def brute_reach(ms, layer, unit):
    """Inputs from which some walk along allowed weights ends at (layer, unit): every path enumerated."""
    sizes = [ms.d] + list(ms.hidden_sizes) + [ms.d]
    out = np.zeros(ms.d, bool)
    for i in range(ms.d):
        for mid in itertools.product(*[range(s) for s in sizes[1:layer]]):
            nodes = (i, *mid, unit)
            if all(ms.masks[l][nodes[l], nodes[l + 1]] for l in range(layer)):
                out[i] = True
                break
        if layer == len(ms.masks) and ms.direct is not None and ms.direct[i, unit]:
            out[i] = True
    return out


@pytest.mark.parametrize("cfg", SMALL, ids=str)
def test_truth_is_a_brute_force_path_search(cfg):
    ms = build_masks(cfg, 0)
    for layer in range(1, len(ms.masks) + 1):
        for unit in range(len(ms.masks[layer - 1][0])):
            q = X.SeeQuestion(cfg, 0, layer, unit)
            assert (X.sees(q) == brute_reach(ms, layer, unit)).all(), (layer, unit)
            for i in np.nonzero(X.sees(q))[0]:  # the named path is a real path
                path = X.one_path(ms, int(i), layer, unit)
                assert path[0] == (0, i) and path[-1] == (layer, unit)
                for (la, a), (lb, b) in zip(path, path[1:]):
                    assert ms.direct[a, b] if lb - la > 1 else ms.masks[la][a, b]


def test_a_true_made_output_sees_only_earlier_positions():
    cfg = Config(d=16, shape=(4, 4), hidden=(32, 32), order="random", seed=3)
    for n in range(10):
        q = X.make_see_question(cfg, 0, "output", X.question_rng(7, "see", n))
        assert not (X.sees(q) & ~X.may_see(q)).any()


def test_a_right_answer_scores_and_a_wrong_one_is_explained():
    cfg = Config(d=16, shape=(4, 4), hidden=(32, 32), seed=0)
    q = X.make_see_question(cfg, 0, "output", X.question_rng(1, "see", 0))
    truth = X.sees(q)
    ok = X.grade_see(q, truth)
    assert ok.right and not ok.missed and not ok.extra and ok.lines[0].startswith("Right")
    guess = truth.copy()
    missed = int(np.nonzero(truth)[0][0])
    guess[missed] = False
    guess[q.unit] = True  # its own pixel: never visible
    bad = X.grade_see(q, guess)
    assert not bad.right and bad.missed == [missed] and bad.extra == [q.unit]
    text = " ".join(bad.lines)
    assert f"Missed pixel {missed} (row {missed // 4}, col {missed % 4})" in text
    assert f"Extra pixel {q.unit}" in text and "own pixel" in text
    assert X.record(X.record({}, "see", ok.right), "see", bad.right) == {"see": (1, 2)}


def test_broken_variant_names_a_forbidden_path():
    cfg = Config(d=9, shape=(3, 3), hidden=(12,), seed=0)
    for n in range(6):
        q = X.make_see_question(cfg, 0, "broken", X.question_rng(3, "see", n, "broken"))
        assert q.cfg.masking in X.BROKEN and (X.sees(q) & ~X.may_see(q)).any()
        lines = X.grade_see(q, np.zeros(9, bool)).lines
        assert any("One forbidden path: input" in line for line in lines)


def test_hidden_variant_truth_and_explanation():
    cfg = Config(d=9, shape=(3, 3), hidden=(12, 7), seed=4)
    q = X.make_see_question(cfg, 0, "hidden", X.question_rng(0, "see", 0, "hidden"))
    assert not q.is_output and not (X.sees(q) & ~X.may_see(q)).any()
    assert "hidden layer" in X.grade_see(q, np.ones(9, bool)).lines[0]


def test_edge_question_rule_and_grading():
    cfg = Config(d=8, hidden=(10,), seed=0)
    seen = set()
    for n in range(30):
        q = X.make_edge_question(cfg, 0, X.question_rng(5, "allowed", n))
        ms = build_masks(q.cfg, 0)
        a = ms.degrees[q.layer - 1][q.src]
        truth = (ms.degrees[0][q.dst] > a) if q.layer == 2 else (ms.degrees[1][q.dst] >= a)
        assert X.edge_allowed(q) == truth
        seen.add(truth)
        right, lines = X.grade_edge(q, truth)
        assert right and lines[0].startswith("Right")
        wrong, lines = X.grade_edge(q, not truth)
        assert not wrong and "Not quite" in lines[0] and ("Hidden rule" in lines[0] or "Output rule" in lines[0])
    assert seen == {True, False}


def test_real_or_sampled_grading():
    q = X.make_real_question(100, X.question_rng(0, "real", 0))
    assert 2 <= sum(q.is_sample) <= 6 and len(q.test_rows) == 8 - sum(q.is_sample)
    logp, dist = np.full(8, -90.0), np.arange(8)
    right, n, lines = X.grade_real(q, q.is_sample, logp, dist)
    assert right and n == 8 and len(lines) == 1
    flipped = list(q.is_sample)
    flipped[0] = not flipped[0]
    right, n, lines = X.grade_real(q, flipped, logp, dist)
    assert not right and n == 7 and lines[1].startswith("Tile 1 is") and "log p(x) = -90.0" in lines[1]


def test_same_link_same_questions_and_bad_links_are_said():
    cfg = Config(d=16, shape=(4, 4), hidden=(32,), seed=0)
    a = [X.make_see_question(cfg, 0, "output", X.question_rng(7, "see", n)).unit for n in range(5)]
    assert a == [X.make_see_question(cfg, 0, "output", X.question_rng(7, "see", n)).unit for n in range(5)]
    assert X.read_link({"exercise": ["see"], "seed": ["7"]}) == X.Link("see", 7, None)
    bad = X.read_link({"exercise": "fly", "seed": "-3"})
    assert bad.exercise is None and bad.seed is None and "fly" in bad.message and "-3" in bad.message
    assert X.read_link({}) == X.Link()


def test_reveal_figure_differs_by_marker_as_well_as_colour():
    cats = X.reveal_categories(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    assert cats.tolist() == [X.RIGHT, X.MISSED, X.EXTRA, X.NOT_SEEN]
    fig = X.reveal_figure(cats, np.arange(1, 5), (2, 2), target=3)
    symbols = {t.marker.symbol for t in fig.data if t.type == "scatter" and t.mode == "markers"}
    assert len(symbols) == 3
