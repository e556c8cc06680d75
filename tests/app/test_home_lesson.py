"""The lesson in five steps on Home (issue 14) through streamlit.testing: each step is one click that lands on
its page with its network and view, a click and the step's teacher link give the same screen, and a step
replaces what the student changed before."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from made_viz import lesson, ui
from made_viz.app_pages import PAGES, page_path
from made_viz.urlstate import VIEW_KEYS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DEFAULT = ui.PRESETS[ui.DEFAULT_PRESET].cfg
VIEW_STATE = tuple(k.state for k in VIEW_KEYS)


def home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click_step(at: AppTest, number: int) -> AppTest:
    at.button(key=f"lesson_go_{number}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def view(at: AppTest) -> dict:
    return {k: at.session_state[k] for k in VIEW_STATE if k in at.session_state}


def test_home_shows_five_steps_each_with_one_question_and_one_button():
    at = home()
    text = " ".join(m.value for m in at.markdown)
    for number, step in enumerate(lesson.STEPS, 1):
        assert f"{number} · {step.title}" in text and step.question in text
        assert at.button(key=f"lesson_go_{number}").label == step.label
    assert at.button(key="lesson_go_1").proto.type == "primary", "the next step stands out"


@pytest.mark.parametrize("number", range(1, 6))
def test_each_step_is_one_click_into_its_page_with_its_network(number):
    step = lesson.STEPS[number - 1]
    at = click_step(home(), number)
    assert at.title[0].value == PAGES[step.page][0], "the click opened the step's page"
    assert at.session_state[ui.CFG] == (step.config(ui.PRESETS) or DEFAULT)
    assert view(at).items() >= lesson.step_view(step).items()
    assert not at.main.error or number == 1, [e.value for e in at.main.error]


def test_step_one_shows_the_broken_sum_and_step_two_the_proper_one():
    at = click_step(home(), 1)
    assert at.toggle(key="w_break_off").value, "the masks are dropped"
    assert any("not a probability distribution" in e.value for e in at.main.error)
    at.switch_page(page_path("home")).run()
    click_step(at, 2)
    assert not at.toggle(key="w_break_off").value
    assert any("a proper distribution" in s.value for s in at.main.success)
    assert at.latex, "the Check tab writes the chain rule"


def test_step_four_opens_a_run_ready_to_start_on_the_digits():
    at = click_step(home(), 4)
    assert at.selectbox(key="t_builtin").value == "digits8" and not at.main.warning
    run = at.session_state["train_run"]
    assert run.state == "idle" and run.cfg == ui.PRESETS["digits"].cfg and run.train_cfg.epochs == 50
    assert at.button(key="t_start") is not None


def test_step_five_opens_the_articles_model_on_the_sample_tab():
    at = click_step(home(), 5)
    assert at.selectbox(key="s_model").value == "mnist" and at.session_state["s_tab"] == "Sample"
    assert at.selectbox(key="s_n") is not None, "the Sample tab is the one drawn"


@pytest.mark.parametrize("number", [1, 4, 5])
def test_a_click_and_the_steps_teacher_link_give_the_same_screen(number):
    step = lesson.STEPS[number - 1]
    clicked = click_step(home(), number)
    linked = AppTest.from_file(APP, default_timeout=180)
    for k, v in lesson.step_params(step, ui.PRESETS, DEFAULT).items():
        linked.query_params[k] = v
    linked.switch_page(page_path(step.page)).run()
    assert not linked.exception and not [e for e in linked.main.error if "was not taken" in e.value]
    assert linked.session_state[ui.CFG] == clicked.session_state[ui.CFG]
    assert view(linked) == view(clicked)
    assert dict(linked.query_params) == dict(clicked.query_params) == lesson.step_params(step, ui.PRESETS, DEFAULT)


def test_a_step_replaces_what_the_student_changed_and_is_marked_done():
    at = home()
    at.sidebar.text_input(key="w_hidden").set_value("40, 30").run()
    at.switch_page(page_path("sample")).run()
    at.session_state["s_tab"] = "Copying?"
    at.run()
    at.switch_page(page_path("home")).run()
    click_step(at, 2)
    assert at.session_state[ui.CFG] == ui.PRESETS["seed"].cfg and at.session_state["w_arch_tab"] == "Check"
    at.switch_page(page_path("home")).run()
    assert at.button(key="lesson_go_3").proto.type == "primary", "the next step is the one that stands out"
    click_step(at, 5)
    assert at.session_state["s_tab"] == "Sample", "the step opens its own tab, not the one left open"
