"""The Exercises page through streamlit.testing: each exercise with a right and a wrong answer (the score
counts, a wrong answer is explained), and the teacher's link (same questions for everyone; a bad link is
said and falls back to a random question)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from made_viz import exercises as X
from made_viz.ui import CFG

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "made_viz/app_pages/exercises.py"


def open_page(query: dict | None = None, exercise: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    if exercise:
        at.session_state["x_ex"] = exercise
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.error, *at.success, *at.warning, *at.info, *at.caption, *at.subheader)]
    return "\n".join(str(p) for p in parts)


def score(at: AppTest, exercise: str) -> tuple[int, int]:
    return at.session_state["x_score"].get(exercise, (0, 0))


def see_question(at: AppTest, variant: str = "output") -> X.SeeQuestion:
    n = at.session_state["x_n"].get("see", 0)
    return X.make_see_question(
        at.session_state[CFG], 0, variant, X.question_rng(at.session_state["x_seed"], "see", n, variant)
    )


def reveal(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_see_right_answer_scores():
    at = open_page({"exercise": "see", "seed": "7"})
    q = see_question(at)
    assert f"Which inputs can {X.unit_name(q)} see?" in texts(at)
    at.session_state["x_guess"] = X.sees(q).astype(np.int64)
    reveal(at, "x_reveal_see")
    assert at.success and at.success[0].value.startswith("Right!") and not at.error
    assert score(at, "see") == (1, 1)
    assert "Score this session (right/asked): Which inputs can this output see? **1/1**" in texts(at)
    reveal(at, "x_reveal_see")  # a rerun does not count the same answer twice
    assert score(at, "see") == (1, 1)


def test_see_wrong_answer_is_explained_and_does_not_score():
    at = open_page({"exercise": "see", "seed": "7"})
    q = see_question(at)
    guess = X.sees(q).astype(np.int64)
    missed = int(np.nonzero(guess)[0][0])
    guess[missed] = 0
    guess[q.unit] = 1
    at.session_state["x_guess"] = guess
    reveal(at, "x_reveal_see")
    assert at.error and at.error[0].value.startswith("Not quite: 1 pixel(s) missed and 1 extra.")
    assert f"Missed {X.pixel_name(missed, (8, 8))}" in texts(at)
    assert f"Extra {X.pixel_name(q.unit, (8, 8))}" in texts(at) and "own pixel" in texts(at)
    assert score(at, "see") == (0, 1)


def test_see_variants_hidden_and_broken():
    at = open_page({"seed": "3"})
    at.radio(key="x_variant").set_value("broken").run()
    q = see_question(at, "broken")
    assert q.cfg.masking in X.BROKEN and "broken on purpose" in texts(at)
    reveal(at, "x_reveal_see")
    assert "One forbidden path: input" in texts(at)
    at.radio(key="x_variant").set_value("hidden").run()
    q = see_question(at, "hidden")
    at.session_state["x_guess"] = X.sees(q).astype(np.int64)
    reveal(at, "x_reveal_see")
    assert at.success[0].value.startswith("Right!") and "hidden layer" in at.success[0].value


def test_next_question_changes_the_question():
    at = open_page({"exercise": "see", "seed": "7"})
    first = see_question(at)
    at.button(key="x_next_see").click().run()
    assert at.session_state["x_n"]["see"] == 1
    assert see_question(at) != first


def test_connection_right_and_wrong():
    at = open_page({"exercise": "allowed", "seed": "11"})
    q = X.make_edge_question(at.session_state[CFG], 0, X.question_rng(11, "allowed", 0))
    src, dst = X.edge_units(q)
    assert src in texts(at) and dst in texts(at)
    truth = X.edge_allowed(q)
    at.button(key="x_yes" if truth else "x_no").click().run()
    assert at.success[0].value.startswith("Right!") and score(at, "allowed") == (1, 1)
    at.button(key="x_next_allowed").click().run()
    q = X.make_edge_question(at.session_state[CFG], 0, X.question_rng(11, "allowed", 1))
    at.button(key="x_no" if X.edge_allowed(q) else "x_yes").click().run()
    text = at.error[0].value
    assert text.startswith("Not quite") and ("Hidden rule" in text or "Output rule" in text)
    assert score(at, "allowed") == (1, 2)


def test_real_or_sampled_right_and_wrong():
    at = open_page({"exercise": "real", "seed": "5"})
    q = X.make_real_question(10_000, X.question_rng(5, "real", 0))
    assert len([c for c in at.checkbox if c.key.startswith("x_tile_")]) == 8
    for i, s in enumerate(q.is_sample):
        at.checkbox(key=f"x_tile_{i}").set_value(s).run()  # each tick reruns, as in the browser
    reveal(at, "x_reveal_real")
    assert at.success[0].value.startswith("8 of 8 tiles right") and score(at, "real") == (1, 1)
    assert "log p =" in texts(at) and "NN" in texts(at)
    at.button(key="x_next_real").click().run()
    q = X.make_real_question(10_000, X.question_rng(5, "real", 1))
    for i in range(8):
        at.checkbox(key=f"x_tile_{i}").set_value(False).run()
    reveal(at, "x_reveal_real")
    assert at.error[0].value.startswith(f"{8 - sum(q.is_sample)} of 8 tiles right")
    first = int(np.nonzero(q.is_sample)[0][0])
    assert f"Tile {first + 1} is a sample (you took it for real): log p(x) = " in texts(at)
    assert score(at, "real") == (1, 2)


def test_teachers_link_gives_everyone_the_same_question():
    a, b = open_page({"exercise": "see", "seed": "42"}), open_page({"exercise": "see", "seed": "42"})
    assert see_question(a) == see_question(b)
    assert [s.value for s in a.subheader] == [s.value for s in b.subheader]
    assert "?exercise=see&seed=42" in texts(a)


def test_bad_link_is_said_and_falls_back_to_a_random_question():
    at = open_page({"exercise": "juggle"})
    assert "exercise “juggle” is unknown" in at.warning[0].value and "random question" in at.warning[0].value
    assert at.session_state["x_ex"] == "see" and "Which inputs can" in texts(at)
    at = open_page({"exercise": "allowed", "seed": "x7"})
    assert any("seed “x7”" in w.value for w in at.warning)
    assert at.session_state["x_ex"] == "allowed" and "Is this connection allowed?" in texts(at)
