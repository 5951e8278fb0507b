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
from classical.kmeans import KMeansParams, kmeans_segment
from classical.methods import METHODS, get_segmenter
from classical.partition import PartitionReport, check_partition
from classical.region_growing import RegionGrowingParams, region_growing
from classical.segmenter import Segmenter
from classical.split_merge import SplitMergeParams, split_and_merge, split_merge_sweep

__all__ = [
    "BASELINES",
    "KMeansParams",
    "METHODS",
    "PartitionReport",
    "RegionGrowingParams",
    "SplitMergeParams",
    "check_partition",
    "get_segmenter",
    "kmeans_segment",
    "region_growing",
    "split_and_merge",
    "split_merge_sweep",
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
