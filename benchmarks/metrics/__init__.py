"""Metrics: confusion-matrix semantic scores, the BSDS500 region and boundary benchmarks,
oracle (majority) labelling, and the driver that runs the official benchmark on folders.

Semantic metrics accumulate a confusion matrix and reduce it once
(:mod:`~benchmarks.metrics.semantic`). Partition metrics follow the official BSDS500
MATLAB benchmark to the last printed digit (:mod:`~benchmarks.metrics.region`,
:mod:`~benchmarks.metrics.boundary`); :func:`evaluate_bsds` runs them on folders and
writes the official files. The boundary benchmark and the driver load on first use.
"""

from __future__ import annotations

import importlib

from benchmarks.metrics._official import fmt10g, read_official_txt, write_official_txt
from benchmarks.metrics.oracle import OracleScores, oracle_labels, oracle_partition, oracle_scores
from benchmarks.metrics.region import (
    RegionImage,
    RegionResult,
    collect_regions,
    evaluate_regions_image,
    probabilistic_rand_index,
    region_thresholds,
    segmentation_covering,
    ucm_to_labels,
    variation_of_information,
    write_region_files,
)
from benchmarks.metrics.semantic import (
    ConfusionMatrix,
    SemanticScores,
    class_accuracy,
    confusion_matrix,
    dice,
    frequency_weighted_iou,
    iou,
    mean_class_accuracy,
    mean_dice,
    mean_iou,
    per_image_miou,
    pixel_accuracy,
    semantic_scores,
)

# Loaded on first access: name -> module.
_LAZY = {
    "BSDSResult": "benchmarks.metrics.bsds",
    "evaluate_bsds": "benchmarks.metrics.bsds",
    "BoundaryImage": "benchmarks.metrics.boundary",
    "BoundaryResult": "benchmarks.metrics.boundary",
    "evaluate_boundaries_image": "benchmarks.metrics.boundary",
    "collect_boundaries": "benchmarks.metrics.boundary",
    "write_boundary_files": "benchmarks.metrics.boundary",
}

__all__ = [
    # semantic
    "ConfusionMatrix",
    "SemanticScores",
    "confusion_matrix",
    "pixel_accuracy",
    "class_accuracy",
    "mean_class_accuracy",
    "iou",
    "mean_iou",
    "frequency_weighted_iou",
    "dice",
    "mean_dice",
    "per_image_miou",
    "semantic_scores",
    # region (BSDS500)
    "RegionImage",
    "RegionResult",
    "region_thresholds",
    "ucm_to_labels",
    "evaluate_regions_image",
    "collect_regions",
    "write_region_files",
    "segmentation_covering",
    "probabilistic_rand_index",
    "variation_of_information",
    # oracle
    "OracleScores",
    "oracle_labels",
    "oracle_partition",
    "oracle_scores",
    # official text files
    "fmt10g",
    "read_official_txt",
    "write_official_txt",
    # loaded on first use: the driver and the boundary benchmark
    "BSDSResult",
    "evaluate_bsds",
    "BoundaryImage",
    "BoundaryResult",
    "evaluate_boundaries_image",
    "collect_boundaries",
    "write_boundary_files",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
