"""Finding dataset folders: explicit root, $SEGBENCH_DATA, ./data, and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.datasets import (
    ALIASES,
    DATA_ENV,
    DatasetLocation,
    canonical_name,
    find_datasets,
    link_dataset,
    looks_like,
    resolve_root,
    search_paths,
)


@pytest.fixture
def clean(tmp_path, monkeypatch) -> Path:
    """An empty current directory and no $SEGBENCH_DATA."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _fake_bsds(path: Path, n_val: int = 2) -> Path:
    (path / "data" / "images" / "val").mkdir(parents=True)
    for k in range(n_val):
        (path / "data" / "images" / "val" / f"{k + 1}.jpg").touch()
    return path


def _fake_camvid(path: Path, n_train: int = 3) -> Path:
    (path / "train").mkdir(parents=True)
    (path / "trainannot").mkdir()
    for k in range(n_train):
        (path / "train" / f"{k}.png").touch()
    return path


def test_aliases_table():
    assert set(ALIASES) == {"bsds500", "camvid", "voc"}
    assert [canonical_name(n) for n in ("bsds500", "CamVid", "voc")] == [
        "BSDS500", "CamVid", "VOCdevkit"]
    with pytest.raises(ValueError, match=r"dataset 'cityscapes' has no standard data folder; "
                                         r"datasets with one: bsds500, camvid, voc"):
        resolve_root("cityscapes")
    with pytest.raises(TypeError, match=r"name must be a dataset name \(str\); got NoneType"):
        looks_like(None, ".")


def test_explicit_root_wins(clean, tmp_path, monkeypatch):
    own = _fake_bsds(tmp_path / "elsewhere" / "my_bsds")
    _fake_bsds(clean / "data" / "BSDS500")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert resolve_root("bsds500", own) == own
    assert resolve_root("bsds500", str(own)) == own


def test_explicit_root_parent_and_missing(clean, tmp_path):
    own = _fake_bsds(tmp_path / "sets" / "BSDS500")
    assert resolve_root("bsds500", tmp_path / "sets") == own
    odd = tmp_path / "odd"
    odd.mkdir()
    assert resolve_root("bsds500", odd) == odd  # as given; the reader says what is missing
    with pytest.raises(FileNotFoundError, match=r"root for dataset 'bsds500' does not exist"):
        resolve_root("bsds500", tmp_path / "nowhere")
    (tmp_path / "file").touch()
    with pytest.raises(FileNotFoundError, match=r"is a file, not a folder"):
        resolve_root("bsds500", tmp_path / "file")


def test_env_real_shared_datasets(clean, bsds_root, camvid_root, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(bsds_root.parent))
    assert resolve_root("bsds500") == bsds_root.absolute()
    assert resolve_root("camvid") == camvid_root.absolute()
    assert resolve_root("CAMVID") == camvid_root.absolute()


def test_env_case_insensitive_and_beats_cwd(clean, tmp_path, monkeypatch):
    parent = tmp_path / "shared"
    bsds = _fake_bsds(parent / "bsds500")
    camvid = _fake_camvid(parent / "camvid")
    _fake_bsds(clean / "data" / "BSDS500")
    monkeypatch.setenv(DATA_ENV, str(parent))
    assert resolve_root("bsds500") == bsds
    assert resolve_root("camvid") == camvid
    assert search_paths()[0] == (f"${DATA_ENV}", parent)


def test_cwd_data_and_official_archive_layout(clean):
    bsds = _fake_bsds(clean / "data" / "BSR" / "BSDS500")
    assert resolve_root("bsds500") == bsds
    assert search_paths() == [("./data", clean / "data")]


def test_name_match_with_wrong_layout_is_skipped(clean):
    (clean / "data" / "CamVid").mkdir(parents=True)  # empty: not CamVid
    with pytest.raises(FileNotFoundError, match=r"CamVid has the right name but not train/"):
        resolve_root("camvid")


def test_not_found_says_where_and_how(clean, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=r"(?s)dataset 'voc' not found.*"
                                                r"\$SEGBENCH_DATA = .*empty \(does not exist\)"
                                                r".*--root DIR.*SEGBENCH_DATA.*"
                                                r"segbench datasets link voc PATH"):
        resolve_root("voc")


def test_link_creates_and_replaces(clean, tmp_path):
    first = _fake_bsds(tmp_path / "copy1" / "BSDS500")
    second = _fake_bsds(tmp_path / "copy2" / "anything")
    link = link_dataset("bsds500", first)
    assert link == Path("data") / "BSDS500"
    assert link.is_symlink() and Path(os.readlink(link)) == first.resolve()
    assert resolve_root("bsds500") == clean / "data" / "BSDS500"

    assert link_dataset("bsds500", second) == link
    assert Path(os.readlink(link)) == second.resolve()
    assert [p.name for p in (clean / "data").iterdir()] == ["BSDS500"]  # no temporary left

    # A folder holding the dataset under a known alias is accepted (e.g. the BSR archive).
    third = _fake_bsds(tmp_path / "BSR" / "BSDS500")
    assert Path(os.readlink(link_dataset("bsds500", tmp_path / "BSR"))) == third.resolve()


def test_link_custom_data_dir_and_refusals(clean, tmp_path):
    camvid = _fake_camvid(tmp_path / "CamVid")
    link = link_dataset("camvid", camvid, data_dir=tmp_path / "store")
    assert link == tmp_path / "store" / "CamVid" and link.resolve() == camvid.resolve()

    real = clean / "data" / "CamVid"
    real.mkdir(parents=True)
    with pytest.raises(FileExistsError, match=r"data/CamVid exists and is not a symlink"):
        link_dataset("camvid", camvid)
    assert real.is_dir() and not real.is_symlink()

    with pytest.raises(FileNotFoundError, match=r"path for dataset 'camvid' does not exist"):
        link_dataset("camvid", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"does not look like the camvid dataset"):
        link_dataset("camvid", tmp_path / "empty")
    with pytest.raises(ValueError, match=r"dataset 'folder' has no standard data folder"):
        link_dataset("folder", camvid)


def test_find_datasets(clean):
    _fake_bsds(clean / "data" / "BSDS500", n_val=2)
    _fake_camvid(clean / "data" / "camvid", n_train=3)
    found = {loc.name: loc for loc in find_datasets()}
    assert list(found) == ["bsds500", "camvid", "voc"]
    assert found["bsds500"] == DatasetLocation("bsds500", clean / "data" / "BSDS500", {"val": 2})
    assert found["camvid"].root == clean / "data" / "camvid"
    assert found["camvid"].splits == {"train": 3}
    assert found["voc"].root is None and found["voc"].splits == {}
    assert "segbench datasets link voc PATH" in found["voc"].note


@pytest.mark.realdata
def test_find_datasets_real(clean, bsds_root, camvid_root, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(bsds_root.parent))
    found = {loc.name: loc for loc in find_datasets()}
    assert found["bsds500"].splits == {"train": 200, "val": 100, "bench_sample": 5}
    assert found["camvid"].splits == {"train": 367, "val": 101}
