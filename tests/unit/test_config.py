"""Config: validation messages a student understands, and lossless round trips."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from made_viz import Config, ConfigError
from made_viz.config import MAX_D, parse_int_list, parse_layers


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(d=1), "at least 2"),
        (dict(d=0), "at least 2"),
        (dict(d=MAX_D + 1), "too large"),
        (dict(hidden=(10, 0)), "at least 1 unit"),
        (dict(hidden=(-3,)), "at least 1 unit"),
        (dict(d=3, order=(0, 1)), "lists 2 pixels"),
        (dict(d=3, order=(0, 1, 1)), "appears twice"),
        (dict(d=3, order=(0, 1, 5)), "not a pixel index"),
        (dict(order="sideways"), "unknown order"),
        (dict(degrees="uniform"), "unknown hidden-degree"),
        (dict(num_masks=0), "number of masks"),
        (dict(seed=-1), "seed"),
        (dict(d=4, shape=(3, 3)), "does not have D = 4"),
        (dict(masking="maybe"), "unknown masking"),
        (dict(hidden=(1,) * 9), "too many"),
    ],
)
def test_invalid_configs_explain_themselves(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config(**kwargs)


@pytest.mark.parametrize(
    "text, expected", [("128, 64", (128, 64)), ("", ()), ("none", ()), (" 5 ", (5,)), ("3;4", (3, 4))]
)
def test_parse_layers(text, expected):
    assert parse_layers(text) == expected


@pytest.mark.parametrize("text", ["0,-3", "abc", "12,,x", "1.5"])
def test_parse_layers_errors(text):
    with pytest.raises(ConfigError, match="hidden layers"):
        parse_layers(text)


cfgs = st.builds(
    Config,
    d=st.just(6),
    shape=st.sampled_from([None, (2, 3), (1, 6)]),
    hidden=st.lists(st.integers(1, 50), max_size=4).map(tuple),
    activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
    direct=st.booleans(),
    order=st.one_of(st.sampled_from(["natural", "reverse", "random"]), st.permutations(range(6)).map(tuple)),
    degrees=st.sampled_from(["random", "even"]),
    num_masks=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    masking=st.sampled_from(["made", "off", "nonstrict"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfgs)
def test_round_trips(cfg):
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert Config.from_query(cfg.to_query()) == cfg
    assert hash(Config.from_dict(cfg.to_dict())) == hash(cfg)


QUERY_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(0, 80).map(str),
    st.sampled_from(
        ["natural", "reverse", "random", "even", "1", "0", "true", "8x8", "2x3", "4,4", "none", " 6 ", "3;4"]
    ),
)


def _int(raw: str) -> int:
    return int(raw.strip())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["d", "hidden", "order", "seed", "num_masks", "shape", "direct", "degrees", "x"]), QUERY_VALUES
    )
)
def test_from_query_parses_what_the_link_says_or_explains_why_not(params):
    """A tampered link either gives the config it spells out (every key it carries taken at its word,
    unknown keys ignored, the rest at their defaults) or raises ConfigError with a sentence; nothing else."""
    try:
        cfg = Config.from_query(params)
    except ConfigError as err:
        msg = str(err)
        assert msg and msg[-1] in ".)" and "Traceback" not in msg, msg
        return
    default = Config()
    expect = {
        "d": _int,
        "seed": _int,
        "num_masks": _int,
        "hidden": parse_layers,
        "degrees": str.strip,
        "direct": lambda raw: raw.strip().lower() in ("1", "true"),
    }
    for key, parse in expect.items():
        want = parse(params[key]) if key in params else getattr(default, key)
        assert getattr(cfg, key) == want, (key, params)
    if "order" in params and params["order"].strip() in ("natural", "reverse", "random"):
        assert cfg.order == params["order"].strip()
    if "shape" in params and params["shape"].strip() in ("", "none"):
        assert cfg.shape is None
    elif "shape" in params:
        h, w = (int(v) for v in params["shape"].lower().replace("x", ",").split(","))
        assert cfg.shape == (h, w)
    assert Config.from_query({k: v for k, v in params.items() if k != "x"}) == cfg  # unknown keys change nothing


def test_from_dict_rejects_unknown_and_wrong_types():
    with pytest.raises(ConfigError, match="unknown configuration field"):
        Config.from_dict({"d": 4, "depth": 3})
    with pytest.raises(ConfigError):
        Config.from_dict({"d": "4"})
    with pytest.raises(ConfigError):
        Config.from_dict({"hidden": "12"})


# --- pasted walls of text (issue 12: a 10 MB paste stalled the process and was quoted back whole) ---------
@pytest.mark.parametrize("text", ["1," * 5_000_000, "9" * 1_000_000, "abc " * 100_000])
def test_a_huge_paste_into_hidden_layers_is_refused_in_one_short_sentence(text):
    with pytest.raises(ConfigError) as e:
        parse_layers(text)
    msg = str(e.value)
    assert len(msg) < 300 and "characters" in msg and f"{len(text):,}" in msg


def test_a_long_but_valid_layer_list_still_parses():
    assert parse_layers(", ".join(["4096"] * 8)) == (4096,) * 8


def test_a_bad_entry_is_quoted_at_most_forty_characters():
    with pytest.raises(ConfigError) as e:
        parse_layers("x" * 150)
    assert "x" * 40 in str(e.value) and "x" * 41 not in str(e.value) and len(str(e.value)) < 200
    with pytest.raises(ConfigError) as e:
        parse_int_list("1, 2, " + "y" * 5_000, "explicit order")
    assert len(str(e.value)) < 200


def test_an_explicit_order_for_the_largest_image_fits_but_a_paste_does_not():
    big = ", ".join(str(i) for i in range(4096))
    assert parse_int_list(big, "order") == tuple(range(4096))
    with pytest.raises(ConfigError, match="characters"):
        parse_int_list("1," * 5_000_000, "order")
