"""Guess first, then reveal (issue 14): the questions, their truth and the explanations, with no Streamlit.

Three exercises, each a question drawn from a seeded stream so a teacher's link (`?exercise=see&seed=7`)
gives the whole class the same questions in the same order:

* "see": which inputs can this unit see? The truth is the product of the masks (the number of paths
  from each input), never the student's answer; the explanation uses the degrees (output d with
  m0(d) = t may see exactly the inputs of position < t that a path reaches; hidden degree m: positions <= m).
* "allowed": is the weight from unit k' of layer l-1 to unit k of layer l allowed? Hidden rule
  m^l(k) >= m^{l-1}(k'); output rule m0(d) > m^L(k), strict.
* "real": which of these digits did the model draw? Graded tile by tile; the reveal shows log p(x)
  and the distance to the nearest training digit (the page computes those, this module words them).

Wrong answers always come with sentences that name the pixels, units or tiles and say why.

One module an idea: the link and the question stream (`link`), how pixels are named (`naming`), the
three exercises (`see`, `allowed`, `real`) and the figure after a "see" reveal (`reveal`).
"""

from .allowed import EdgeQuestion, edge_allowed, edge_rule, edge_units, grade_edge, make_edge_question
from .link import EXERCISES, MAX_SEED, Link, question_rng, read_link, record
from .naming import MAX_NAMED, pixel_name
from .real import RealQuestion, grade_real, make_real_question
from .reveal import EXTRA, MISSED, NOT_SEEN, REVEAL_STYLE, RIGHT, reveal_categories, reveal_figure
from .see import (
    BROKEN,
    SEE_VARIANTS,
    SeeQuestion,
    SeeResult,
    explain_see,
    grade_see,
    make_see_question,
    may_see,
    one_path,
    path_counts,
    sees,
    unit_name,
)

__all__ = [
    "BROKEN",
    "EXERCISES",
    "EXTRA",
    "MAX_NAMED",
    "MAX_SEED",
    "MISSED",
    "NOT_SEEN",
    "REVEAL_STYLE",
    "RIGHT",
    "SEE_VARIANTS",
    "EdgeQuestion",
    "Link",
    "RealQuestion",
    "SeeQuestion",
    "SeeResult",
    "edge_allowed",
    "edge_rule",
    "edge_units",
    "explain_see",
    "grade_edge",
    "grade_real",
    "grade_see",
    "make_edge_question",
    "make_real_question",
    "make_see_question",
    "may_see",
    "one_path",
    "path_counts",
    "pixel_name",
    "question_rng",
    "read_link",
    "record",
    "reveal_categories",
    "reveal_figure",
    "sees",
    "unit_name",
]
