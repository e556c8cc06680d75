"""Config: validation messages a student understands, and lossless round trips."""
import pytest
from hypothesis import given, settings, strategies as st

from made_viz import Config, ConfigError
from made_viz.config import MAX_D, parse_layers


@pytest.mark.parametrize("kwargs, fragment", [
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
])
def test_invalid_configs_explain_themselves(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config(**kwargs)


@pytest.mark.parametrize("text, expected", [("128, 64", (128, 64)), ("", ()), ("none", ()), (" 5 ", (5,)), ("3;4", (3, 4))])
def test_parse_layers(text, expected):
    assert parse_layers(text) == expected


@pytest.mark.parametrize("text", ["0,-3", "abc", "12,,x", "1.5"])
def test_parse_layers_errors(text):
    with pytest.raises(ConfigError, match="hidden layers"):
        parse_layers(text)


cfgs = st.builds(
    Config,
    d=st.just(6), shape=st.sampled_from([None, (2, 3), (1, 6)]),
    hidden=st.lists(st.integers(1, 50), max_size=4).map(tuple),
    activation=st.sampled_from(["relu", "tanh", "sigmoid"]), direct=st.booleans(),
    order=st.one_of(st.sampled_from(["natural", "reverse", "random"]), st.permutations(range(6)).map(tuple)),
    degrees=st.sampled_from(["random", "even"]), num_masks=st.integers(1, 8), seed=st.integers(0, 2**32 - 1),
    masking=st.sampled_from(["made", "off", "nonstrict"]))


@settings(max_examples=200, deadline=None)
@given(cfgs)
def test_round_trips(cfg):
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert Config.from_query(cfg.to_query()) == cfg
    assert hash(Config.from_dict(cfg.to_dict())) == hash(cfg)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["d", "hidden", "order", "seed", "num_masks", "shape", "direct", "degrees", "x"]),
                       st.text(max_size=12)))
def test_from_query_never_crashes(params):
    """A tampered link either parses or raises ConfigError, nothing else."""
    try:
        Config.from_query(params)
    except ConfigError:
        pass


def test_from_dict_rejects_unknown_and_wrong_types():
    with pytest.raises(ConfigError, match="unknown configuration field"):
        Config.from_dict({"d": 4, "depth": 3})
    with pytest.raises(ConfigError):
        Config.from_dict({"d": "4"})
    with pytest.raises(ConfigError):
        Config.from_dict({"hidden": "12"})
