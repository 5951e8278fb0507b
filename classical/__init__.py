"""Classical segmentation driven by similarity predicates.

Region growing, split-and-merge and colour/texture k-means (in progress), plus
scikit-image / OpenCV baselines behind one interface. This package depends only on
NumPy, SciPy, scikit-image, scikit-learn, OpenCV and Numba; it never imports torch.
"""

from classical._regions import adjacent_pairs, merge_small_regions, relabel_connected
from classical.baselines import BASELINES, get_baseline
from classical.segmenter import Segmenter

__all__ = [
    "BASELINES",
    "Segmenter",
    "adjacent_pairs",
    "get_baseline",
    "merge_small_regions",
    "relabel_connected",
]
