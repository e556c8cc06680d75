"""Home: what MADE is, in three sentences and one formula, then a lesson in five steps that follows the
seed article (the steps are data: made_viz/lesson.py). Each step is one click: it sets the network and
the view the step needs, then opens its page."""

import streamlit as st

from made_viz import lesson, ui
from made_viz.app_pages import PAGES, page_path
from made_viz.config import Config
from made_viz.urlstate import VIEW_URL_KEYS

ss = st.session_state
DEFAULT = ui.PRESETS[ui.DEFAULT_PRESET].cfg
STEP_KEY = "lesson_step"  # the number (1..5) of the step the student last opened


def introduction() -> None:
    """Three sentences and the formula side by side, so that the lesson starts on the first screen."""
    st.title("MADE Explorer")
    text, formula = st.columns([3, 2], vertical_alignment="center")
    text.markdown(
        "**MADE** (Masked Autoencoder for Distribution Estimation, Germain et al. 2015) turns an ordinary "
        "autoencoder into an exact density model for binary images. Pick an order for the pixels; the chain rule "
        "writes the probability of an image as a product of one-pixel conditionals, and masks on the weights "
        "make sure each output only *sees* the pixels that come before it. One forward pass gives all D "
        "conditionals; sampling takes D steps, one pixel at a time."
    )
    formula.latex(r"p(\mathbf{x}) = \prod_{d=1}^{D} p\big(x_{o(d)} \mid x_{o(1)}, \dots, x_{o(d-1)}\big)")


def open_step(number: int) -> None:
    """A step's click (a callback, so it runs before any widget is drawn): its network, then its view."""
    step = lesson.STEPS[number - 1]
    if (cfg := step.config(ui.PRESETS)) is not None:
        ui.take(cfg, f"Lesson step {number}")  # the budget check and its message, as for a preset
    ss.update(lesson.step_view(step))
    ss[STEP_KEY] = number


def lesson_steps() -> None:
    st.subheader("A lesson in five steps", anchor="lesson")
    st.caption(
        "Following the seed article: each step opens the right page with the right network; "
        "think about its question before you look. Your own changes are kept until you click another step."
    )
    for number, step in enumerate(lesson.STEPS, 1):
        with st.container(border=True, key=f"lesson_box_{number}"):
            what, think, go = st.columns([4, 4, 2], vertical_alignment="center")
            what.markdown(f"**{number} · {step.title}**  \n{step.shows}")
            think.markdown(f":material/lightbulb: **Think:** {step.question}")
            clicked = go.button(
                step.label,
                key=f"lesson_go_{number}",
                on_click=open_step,
                args=(number,),
                icon=PAGES[step.page][1],
                type="primary" if number == ss.get(STEP_KEY, 0) + 1 else "secondary",
                width="stretch",
                help=f"Opens the {PAGES[step.page][0]} page set up for this step.",
            )
            if clicked:
                st.switch_page(page_path(step.page))


def teacher_links() -> None:
    """Each step as a link: a new session opened on it shows what the click shows (made_viz.lesson.step_params)."""
    with st.expander("For teachers: a link to each step"):
        lines = []
        for number, step in enumerate(lesson.STEPS, 1):
            params = lesson.step_params(step, ui.PRESETS, DEFAULT)
            query = "&".join(f"{k}={v}" for k, v in params.items())
            lines.append(f"{number}. [{step.title}]({step.page}?{query}) · `{step.page}?{query}`")
        st.markdown("\n".join(lines))
        st.caption(
            "Each link opens a fresh session on that step (step 5 keeps the default network in the sidebar). "
            f"The view keys a link may carry: {', '.join(VIEW_URL_KEYS)}."
        )


def explore(cfg: Config) -> None:
    st.divider()
    order = cfg.order if isinstance(cfg.order, str) else "explicit"
    st.markdown(
        f"**Or explore freely.** Your architecture (left sidebar, shared by every page and kept in the link you "
        f"can copy): D = {cfg.d} inputs, hidden layers {list(cfg.hidden) or 'none'}, order *{order}*, "
        f"{cfg.num_masks} mask(s)."
    )
    for col, name in zip(st.columns(4), ("architecture", "train", "sample", "exercises")):
        col.page_link(page_path(name), label=PAGES[name][0], icon=PAGES[name][1])
    st.caption(
        "Reference: M. Germain, K. Gregor, I. Murray, H. Larochelle. MADE: Masked Autoencoder for "
        "Distribution Estimation. ICML 2015, arXiv:1502.03509."
    )


def main() -> None:
    cfg = ui.architecture_sidebar()
    introduction()
    lesson_steps()
    teacher_links()
    explore(cfg)


main()
