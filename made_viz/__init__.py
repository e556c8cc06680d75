"""MADE Explorer library: masks, model, training and sampling for MADE (Germain et al. 2015).

    from made_viz import Config, build_masks, MADE, sample

Names are imported lazily, so `import made_viz.data` or `made_viz.masks` does not load torch.
"""

from importlib import import_module

_EXPORTS = {
    "Config": "config",
    "ConfigError": "config",
    "MaskSet": "masks",
    "build_masks": "masks",
    "build_all_masks": "masks",
    "MADE": "model",
    "Trajectory": "sampling",
    "sample": "sampling",
    "complete": "sampling",
}
__all__ = list(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'made_viz' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
