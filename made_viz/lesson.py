"""A lesson in five steps, following the seed article (Germain et al. 2015): why a plain autoencoder is
not a distribution, the chain rule, masks and degrees, training, and sampling pixel by pixel.

Data only (no streamlit): each step names the page it opens, the preset it sets (a key of
`made_viz.ui.PRESETS`, with changes), the rest of the screen as the link's own words
(`made_viz.urlstate.VIEW_KEYS`), and one question to think about. The Home page draws the steps and
applies one on a click; `step_params` writes the same step as a link a teacher can hand out, so a click
and a link give the same screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .config import Config
from .urlstate import canonical_params, view_from_params, view_params


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a page, the network and the view it opens with, and one question."""

    title: str
    shows: str  # what the student will see (markdown)
    question: str  # one question to think about (markdown)
    page: str  # a key of made_viz.app_pages.PAGES
    label: str  # the button that opens it (short: it fits a narrow column at 1280x720)
    preset: str | None = None  # a key of made_viz.ui.PRESETS; None keeps the student's network
    changes: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # Config fields changed
    view: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # URL words: {"tab": "check"}

    def config(self, presets: dict[str, Any]) -> Config | None:
        """The network this step opens with (None: the student's own is kept)."""
        return None if self.preset is None else presets[self.preset].cfg.replace(**self.changes)


def _frozen(**kw: Any) -> MappingProxyType:
    return MappingProxyType(dict(kw))


STEPS: tuple[Step, ...] = (
    Step(
        title="A plain autoencoder is not a distribution",
        shows=(
            "The paper's D = 3 example with its masks **dropped**: every output sees every input, its own pixel "
            "included. The Check tab adds up p(x) over all 2³ = 8 images."
        ),
        question=(
            "Each output can simply copy its own pixel, so every image could get p(x) close to 1. "
            "Why can that not be a probability distribution, and what does Σ p(x) say here?"
        ),
        page="architecture",
        label="Σ p(x) ≠ 1",
        preset="seed",
        changes=_frozen(masking="off"),
        view=_frozen(tab="check"),
    ),
    Step(
        title="The chain rule",
        shows=(
            "Any distribution is a product of one-pixel conditionals, each given only the pixels before it in "
            "an ordering. The same network with its masks back: the Check tab writes the product for the "
            "ordering m⁰ = (3, 1, 2) and adds up p(x) again."
        ),
        question=(
            "In p(x) = p(x₂) p(x₃ | x₂) p(x₁ | x₂, x₃), which inputs may the output for x₁ use, which the "
            "output for x₂, and why does that make Σ p(x) = 1 whatever the weights?"
        ),
        page="architecture",
        label="Chain rule",
        preset="seed",
        view=_frozen(tab="check"),
    ),
    Step(
        title="Masks and degrees",
        shows=(
            "Every unit carries a **degree**: the last position in the ordering it may depend on. A hidden unit "
            "of degree k takes inputs of degree ≤ k; an output of degree d takes hidden units of degree "
            "< d only. Click a hidden unit to trace what it sees and what it feeds."
        ),
        question=(
            "A hidden unit of degree 1 sees only the first pixel of the ordering. Which outputs may it feed, "
            "and why not the output of that first pixel itself?"
        ),
        page="architecture",
        label="Degrees",
        preset="seed",
        view=_frozen(tab="network"),
    ),
    Step(
        title="Training",
        shows=(
            "A MADE for 8x8 handwritten digits: press **Start** and watch the negative log-likelihood (NLL) fall. "
            "The dashed line is the independent-pixel model, which gives each pixel its own probability of ink."
        ),
        question=(
            "What can the MADE use that the independent-pixel model cannot, and what does the gap between "
            "the curves and the dashed line measure?"
        ),
        page="train",
        label="Train",
        preset="digits",
        view=_frozen(source="builtin", data="digits8", lr="0.003", batch="100", epochs="50", unit="nats"),
    ),
    Step(
        title="Sampling, pixel by pixel",
        shows=(
            "The seed article's MNIST model draws each image one pixel at a time, in its ordering: press "
            "**Play**. Then open the **Copying?** tab: each sample beside its nearest training image."
        ),
        question=(
            "Scoring an image takes one pass through the network but a sample takes D = 784, one per pixel; "
            "if the samples sat 0 px from a training image, what would that tell you about the model?"
        ),
        page="sample",
        label="Sample",
        view=_frozen(model="mnist", stab="sample", n="16", sseed="0", greedy="0", speed="normal", path="0"),
    ),
)


def step_params(step: Step, presets: dict[str, Any], default: Config) -> dict[str, str]:
    """The step as a link's query parameters, canonical as `made_viz.ui` writes them: its network (the default
    preset when the step keeps the student's network), then the view keys whose value is not the default."""
    cfg = step.config(presets) or default
    return canonical_params(cfg, default) | view_params(step_view(step))


def step_view(step: Step) -> dict[str, Any]:
    """The session values of the step's view ({session_state key: value}); every word is one the link allows."""
    values, refused = view_from_params(step.view)
    if refused:
        raise ValueError(f"lesson step “{step.title}”: {'; '.join(refused)}")
    return values
