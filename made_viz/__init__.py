"""MADE Explorer library: masks, model, training and sampling for MADE (Germain et al. 2015).

    from made_viz import Config, build_masks, MADE, sample
"""
from .config import Config, ConfigError
from .masks import MaskSet, build_masks, build_all_masks
from .model import MADE
from .sample import Trajectory, complete, sample

__all__ = ["Config", "ConfigError", "MaskSet", "build_masks", "build_all_masks", "MADE",
           "Trajectory", "sample", "complete"]
__version__ = "0.1.0"
