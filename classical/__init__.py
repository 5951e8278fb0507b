"""Classical segmentation driven by similarity predicates.

Region growing, split-and-merge and colour/texture k-means (in progress), plus
scikit-image / OpenCV baselines behind one interface. This package depends only on
NumPy, SciPy, scikit-image, scikit-learn, OpenCV and Numba; it never imports torch.
"""

from classical._regions import adjacent_pairs, merge_small_regions, relabel_connected
from classical.baselines import BASELINES, get_baseline
from classical.features import FEATURES, feature_stack
from classical.predicates import (
    SRM,
    And,
    MaxSize,
    MaxStd,
    MeanDistance,
    MinSize,
    Not,
    Or,
    Predicate,
    Range,
    RegionStats,
    TextureDistance,
    Weighted,
    parse_predicate,
    predicate_features,
)
from classical.segmenter import Segmenter

__all__ = [
    "BASELINES",
    "FEATURES",
    "SRM",
    "And",
    "MaxSize",
    "MaxStd",
    "MeanDistance",
    "MinSize",
    "Not",
    "Or",
    "Predicate",
    "Range",
    "RegionStats",
    "Segmenter",
    "TextureDistance",
    "Weighted",
    "adjacent_pairs",
    "feature_stack",
    "get_baseline",
    "merge_small_regions",
    "parse_predicate",
    "predicate_features",
    "relabel_connected",
]
