"""Shared fixtures: seeded generators and the real datasets when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The real datasets live beside the checkout (../shared/datasets); CI lays them the same way.
SHARED = Path(os.environ.get("SEGBENCH_SHARED", REPO.parent / "shared" / "datasets"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _dataset_dir(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"real dataset folder {path} is absent (set SEGBENCH_SHARED to its parent)")
    return path


@pytest.fixture(scope="session")
def bsds_root() -> Path:
    """../shared/datasets/BSDS500, or skip."""
    return _dataset_dir("BSDS500")


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    """../shared/datasets/CamVid, or skip."""
    return _dataset_dir("CamVid")


@pytest.fixture(scope="session")
def bench_sample(bsds_root) -> Path:
    """The official BSDS benchmark's 5-image sample with its reference outputs, or skip."""
    path = bsds_root / "bench_sample"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path
