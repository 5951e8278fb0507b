"""Dataset readers: real BSDS500/CamVid when present, generated folders always."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from benchmarks.datasets import (
    BSDS500,
    CAMVID_CLASSES,
    DATASETS,
    IGNORE_INDEX,
    VOC,
    VOC_CLASSES,
    CamVid,
    DatasetFileError,
    FolderDataset,
    available_splits,
    Sample,
    load_dataset,
    read_bsds_ground_truth,
    read_classes_json,
    read_label_png,
    voc_colormap,
)

REPO = Path(__file__).resolve().parents[3]
BENCH_SAMPLE_IDS = ["2018", "3063", "5096", "6046", "8068"]


# --------------------------------------------------------------------------- builders

def _write_image(path: Path, rng, shape=(6, 8), fmt=None) -> np.ndarray:
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format=fmt)
    return image


def _write_mask(path: Path, mask, palette: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.asarray(mask, dtype=np.uint8))
    if palette:
        im = im.convert("P")
        im.putpalette(voc_colormap(256).ravel().tolist())
    im.save(path)


def _write_bsds_mat(path: Path, partitions) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = np.empty((1, len(partitions)), dtype=object)
    for k, part in enumerate(partitions):
        boundary = np.zeros(part.shape, dtype=np.uint8)
        boundary[:, :-1] |= (part[:, 1:] != part[:, :-1]).astype(np.uint8)
        cells[0, k] = {"Segmentation": part.astype(np.uint16), "Boundaries": boundary}
    savemat(path, {"groundTruth": cells})


def _make_bsds(root: Path, rng, split="val", ids=("100075", "2018"), shape=(6, 8)) -> Path:
    image_dir = (root / "bench_sample" / "images" if split == "bench_sample"
                 else root / "data" / "images" / split)
    gt_dir = (root / "bench_sample" / "groundTruth" if split == "bench_sample"
              else root / "data" / "groundTruth" / split)
    for stem in ids:
        _write_image(image_dir / f"{stem}.jpg", rng, shape)
        halves = np.ones(shape, dtype=np.int64)
        halves[:, shape[1] // 2:] = 2
        quarters = halves + 2 * (np.arange(shape[0])[:, None] >= shape[0] // 2)
        _write_bsds_mat(gt_dir / f"{stem}.mat", [halves, quarters])
    return root


def _make_camvid(root: Path, rng, split="train", n=3, txt=True, shape=(6, 8)) -> list[str]:
    names = [f"0001TP_{k:06d}.png" for k in range(n, 0, -1)]  # txt order, not sorted
    for k, name in enumerate(names):
        _write_image(root / split / name, rng, shape)
        mask = np.full(shape, k % 11, dtype=np.uint8)
        mask[0, :] = 11  # void row
        _write_mask(root / f"{split}annot" / name, mask)
    if txt:
        lines = [f"/SegNet/CamVid/{split}/{n_} /SegNet/CamVid/{split}annot/{n_}" for n_ in names]
        lines[0] = lines[0].replace("/", "\\")  # a Windows path, also file name only
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n\n")
    return names


def _make_voc(devkit: Path, rng, splits=None, shape=(6, 8)) -> Path:
    base = devkit / "VOC2012"
    splits = splits or {"train": ["2007_000032"], "val": ["2007_000033", "2007_000042"]}
    for split, ids in splits.items():
        list_dir = base / "ImageSets" / "Segmentation"
        list_dir.mkdir(parents=True, exist_ok=True)
        (list_dir / f"{split}.txt").write_text("\n".join(ids) + "\n")
        for k, stem in enumerate(ids):
            _write_image(base / "JPEGImages" / f"{stem}.jpg", rng, shape, fmt="JPEG")
            mask = np.zeros(shape, dtype=np.uint8)
            mask[2:4, 2:6] = 15 + k  # person / pottedplant
            mask[1, 1:7] = 255  # VOC's void border
            _write_mask(base / "SegmentationClass" / f"{stem}.png", mask, palette=True)
    return devkit


def _make_folder(root: Path, rng, n=3, shape=(6, 8), classes=None) -> Path:
    for k in range(n):
        _write_image(root / "images" / f"img{k + 1}.png", rng, shape)
        mask = np.zeros(shape, dtype=np.uint8)
        mask[:, shape[1] // 2:] = 1 + k % 2
        mask[0, 0] = IGNORE_INDEX
        _write_mask(root / "masks" / f"img{k + 1}.png", mask)
    if classes is not None:
        (root / "classes.json").write_text(json.dumps(classes))
    return root


# --------------------------------------------------------------------------- BSDS500 (real)

@pytest.mark.realdata
@pytest.mark.parametrize(("split", "count"), [("val", 100), ("train", 200), ("bench_sample", 5)])
def test_bsds500_real_split_sizes(bsds_root, split, count):
    dataset = BSDS500(bsds_root, split=split)
    assert len(dataset) == count
    assert len(set(dataset.ids)) == count
    assert dataset.task == "regions" and dataset.classes is None


@pytest.mark.realdata
def test_bsds500_real_bench_sample(bsds_root, bench_sample):
    dataset = BSDS500(bsds_root, split="bench_sample")
    assert dataset.ids == BENCH_SAMPLE_IDS
    for i in range(len(dataset)):
        sample = dataset[i]
        hw = sample.image.shape[:2]
        assert sample.image.dtype == np.uint8 and sample.image.shape == (*hw, 3)
        assert sorted(hw) == [321, 481]
        assert sample.mask is None
        assert len(sample.partitions) >= 4
        for part in sample.partitions:
            assert part.dtype == np.int32 and part.shape == hw
            assert part.min() == 1  # labels kept as stored, from 1
        boundaries = dataset.boundaries(i)
        assert len(boundaries) == len(sample.partitions)
        assert all(b.dtype == bool and b.shape == hw and b.any() for b in boundaries)


@pytest.mark.realdata
def test_bsds500_real_val_files(bsds_root):
    dataset = BSDS500(bsds_root)
    image, mat = dataset.files(0)
    assert image == bsds_root / "data" / "images" / "val" / f"{dataset.ids[0]}.jpg"
    assert mat == bsds_root / "data" / "groundTruth" / "val" / f"{dataset.ids[0]}.mat"
    assert len(dataset[0].partitions) >= 4


# --------------------------------------------------------------------------- BSDS500 (generated)

def test_bsds500_generated(tmp_path, rng):
    root = _make_bsds(tmp_path / "BSDS500", rng)
    dataset = BSDS500(root)
    assert dataset.ids == ["2018", "100075"]  # numeric order, not string order
    sample = dataset[0]
    assert isinstance(sample, Sample) and sample.id == "2018"
    assert [p.dtype for p in sample.partitions] == [np.int32, np.int32]
    assert np.unique(sample.partitions[0]).tolist() == [1, 2]
    assert np.unique(sample.partitions[1]).tolist() == [1, 2, 3, 4]
    assert sample.regions[1] is not None and not sample.ignore.any()
    boundaries = dataset.boundaries(-1)
    assert boundaries[0].dtype == bool and boundaries[0][:, 3].all()
    assert dataset.verify() == []


def test_bsds500_missing_split_lists_present(tmp_path, rng):
    root = _make_bsds(tmp_path / "BSDS500", rng, split="val")
    _make_bsds(root, rng, split="bench_sample", ids=("2018",))
    with pytest.raises(FileNotFoundError, match=r"data/images/test.*present.*: val, bench_sample"):
        BSDS500(root, split="test")


def test_bsds500_unknown_split(tmp_path, rng):
    root = _make_bsds(tmp_path / "BSDS500", rng)
    with pytest.raises(ValueError, match=r"split must be one of train, val, test, bench_sample"):
        BSDS500(root, split="validation")


def test_bsds500_corrupt_mat_named(tmp_path, rng):
    root = _make_bsds(tmp_path / "BSDS500", rng)
    mat = root / "data" / "groundTruth" / "val" / "2018.mat"
    mat.write_bytes(mat.read_bytes()[:100])
    with pytest.raises(DatasetFileError, match=r"2018\.mat: cannot read MATLAB file"):
        BSDS500(root)[0]
    problems = BSDS500(root).verify()
    assert [(p.sample_id, p.path) for p in problems] == [("2018", str(mat))]


def test_bsds500_mat_without_ground_truth(tmp_path):
    path = tmp_path / "x.mat"
    savemat(path, {"segs": np.ones((2, 2))})
    with pytest.raises(DatasetFileError, match=r"x\.mat: no variable 'groundTruth'.*segs"):
        read_bsds_ground_truth(path)


def test_bsds500_missing_mat_named(tmp_path, rng):
    root = _make_bsds(tmp_path / "BSDS500", rng)
    (root / "data" / "groundTruth" / "val" / "100075.mat").unlink()
    with pytest.raises(DatasetFileError, match=r"100075\.mat: file not found"):
        BSDS500(root)[1]


# --------------------------------------------------------------------------- CamVid (real)

@pytest.mark.realdata
@pytest.mark.parametrize(("split", "count"), [("train", 367), ("val", 101)])
def test_camvid_real_split_sizes(camvid_root, split, count):
    dataset = CamVid(camvid_root, split=split)
    assert len(dataset) == count
    assert dataset.num_classes == 11


@pytest.mark.realdata
def test_camvid_real_labels_and_void(camvid_root):
    dataset = CamVid(camvid_root, split="train")
    allowed = set(range(11)) | {IGNORE_INDEX}
    saw_void = False
    for i in (0, 100, 200, 366):
        sample = dataset[i]
        assert sample.image.shape == (360, 480, 3) and sample.image.dtype == np.uint8
        assert sample.mask.shape == (360, 480) and sample.mask.dtype == np.int64
        assert set(np.unique(sample.mask).tolist()) <= allowed
        raw = read_label_png(dataset.files(i)[1])
        np.testing.assert_array_equal(raw == 11, sample.mask == IGNORE_INDEX)
        saw_void |= bool(sample.ignore.any())
    assert saw_void
    assert dataset.files(0)[0].parent == camvid_root / "train"  # file names from the .txt only


# --------------------------------------------------------------------------- CamVid (generated)

def test_camvid_generated_from_txt(tmp_path, rng):
    names = _make_camvid(tmp_path / "CamVid", rng, split="train")
    dataset = CamVid(tmp_path / "CamVid", split="train")
    assert dataset.ids == [Path(n).stem for n in names]  # the .txt's order
    assert dataset.files(0) == [tmp_path / "CamVid" / "train" / names[0],
                                tmp_path / "CamVid" / "trainannot" / names[0]]
    for sample in dataset:
        assert sample.mask.dtype == np.int64
        assert (sample.mask[0] == IGNORE_INDEX).all()
        assert not (sample.mask == 11).any()
    assert [c.name for c in dataset.classes][:3] == ["Sky", "Building", "Pole"]
    assert CAMVID_CLASSES[4].color == (60, 40, 222) and CAMVID_CLASSES[10].color == (0, 128, 192)
    assert dataset.verify() == []


def test_camvid_without_txt_lists_folder(tmp_path, rng):
    names = _make_camvid(tmp_path / "CamVid", rng, split="val", txt=False)
    dataset = CamVid(tmp_path / "CamVid", split="val")
    assert dataset.ids == sorted(Path(n).stem for n in names)


def test_camvid_bad_txt_line(tmp_path, rng):
    _make_camvid(tmp_path / "CamVid", rng, split="val")
    (tmp_path / "CamVid" / "val.txt").write_text("a.png b.png\nonly_one.png\n")
    with pytest.raises(DatasetFileError, match=r"val\.txt: line 2: expected 'image annotation'"):
        CamVid(tmp_path / "CamVid", split="val")


def test_camvid_missing_split_lists_present(tmp_path, rng):
    _make_camvid(tmp_path / "CamVid", rng, split="train")
    with pytest.raises(FileNotFoundError, match=r"CamVid split 'val' not found.*present.*: train"):
        CamVid(tmp_path / "CamVid", split="val")


def test_camvid_verify_out_of_range(tmp_path, rng):
    names = _make_camvid(tmp_path / "CamVid", rng, split="train")
    bad = tmp_path / "CamVid" / "trainannot" / names[1]
    _write_mask(bad, np.full((6, 8), 12))
    problems = CamVid(tmp_path / "CamVid", split="train").verify()
    assert len(problems) == 1
    assert problems[0].path == str(bad) and "[12] outside 0..10" in problems[0].message


# --------------------------------------------------------------------------- VOC (generated)

def test_voc_colormap_standard():
    colormap = voc_colormap()
    assert colormap.shape == (256, 3) and colormap.dtype == np.uint8
    assert colormap[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert colormap[15].tolist() == [192, 128, 128]  # person
    assert colormap[255].tolist() == [224, 224, 192]  # void border
    with pytest.raises(ValueError, match=r"n must be an integer in 1\.\.256; got 300"):
        voc_colormap(300)


def test_voc_generated(tmp_path, rng):
    devkit = _make_voc(tmp_path / "VOCdevkit", rng)
    dataset = VOC(devkit, split="val")
    assert dataset.ids == ["2007_000033", "2007_000042"]
    assert dataset.num_classes == 21 and len(VOC_CLASSES) == 21
    assert VOC_CLASSES[0].name == "background" and VOC_CLASSES[20].name == "tvmonitor"
    assert VOC_CLASSES[15] == VOC_CLASSES[15].__class__(15, "person", (192, 128, 128))
    sample = dataset[0]
    assert sample.mask.dtype == np.int64
    assert np.unique(sample.mask).tolist() == [0, 15, IGNORE_INDEX]  # palette indices
    assert sample.ignore.sum() == 6
    assert dataset.files(1)[1] == devkit / "VOC2012" / "SegmentationClass" / "2007_000042.png"
    assert dataset.verify() == []
    assert len(VOC(devkit / "VOC2012", split="train")) == 1  # the year folder also works


def test_voc_missing_split_lists_present(tmp_path, rng):
    devkit = _make_voc(tmp_path / "VOCdevkit", rng)
    with pytest.raises(FileNotFoundError, match=r"split 'trainval' not found.*present: train, val"):
        VOC(devkit, split="trainval")
    with pytest.raises(FileNotFoundError, match=r"VOC2007 not found"):
        VOC(devkit, year=2007)
    with pytest.raises(ValueError, match=r"year must be a 4-digit"):
        VOC(devkit, year="12")


# --------------------------------------------------------------------------- folder

def test_folder_with_class_names(tmp_path, rng):
    root = _make_folder(tmp_path / "mine", rng, n=11, classes=["bg", "a", "b"])
    dataset = FolderDataset(root)
    assert dataset.ids[:3] == ["img1", "img2", "img3"] and dataset.ids[-1] == "img11"
    assert dataset.task == "semantic" and dataset.num_classes == 3
    assert [c.name for c in dataset.classes] == ["bg", "a", "b"]
    assert dataset.classes[1].color == (128, 0, 0)  # default colours: the VOC map
    sample = dataset[1]
    assert sample.mask.dtype == np.int64 and sample.image.dtype == np.uint8
    assert np.unique(sample.mask).tolist() == [0, 2, IGNORE_INDEX]
    assert dataset.verify() == []


def test_folder_with_class_colors_and_splits(tmp_path, rng):
    classes = [{"name": "bg", "color": [0, 0, 0]}, {"name": "cell", "color": [255, 0, 0]},
               {"name": "other"}]
    _make_folder(tmp_path / "mine" / "train", rng, n=2)
    _make_folder(tmp_path / "mine" / "val", rng, n=1)
    (tmp_path / "mine" / "classes.json").write_text(json.dumps(classes))
    dataset = FolderDataset(tmp_path / "mine", split="val")
    assert len(dataset) == 1 and dataset.split == "val"
    assert dataset.classes[1].color == (255, 0, 0) and dataset.classes[2].name == "other"
    assert FolderDataset.available_splits(tmp_path / "mine") == ["train", "val"]
    assert available_splits("folder", tmp_path / "mine") == ["train", "val"]
    with pytest.raises(FileNotFoundError, match=r"images.*split sub-folders train, val"):
        FolderDataset(tmp_path / "mine")
    with pytest.raises(FileNotFoundError, match=r"split 'test' not found.*present: train, val"):
        FolderDataset(tmp_path / "mine", split="test")


def test_folder_without_classes_is_regions(tmp_path, rng):
    root = _make_folder(tmp_path / "mine", rng, n=1)
    dataset = FolderDataset(root)
    assert dataset.classes is None and dataset.task == "regions" and dataset.split == "."
    assert available_splits("folder", root) == ["."]
    assert len(FolderDataset(root, split=".")) == 1
    with pytest.raises(FileNotFoundError, match=r"split 'val' not found.*pass split='\.'"):
        FolderDataset(root, split="val")
    sample = dataset[0]
    regions = sample.regions
    assert len(regions) == 1 and regions[0].dtype == np.int32
    assert regions[0][0, 0] == 0  # ignore pixel: no region ground truth
    assert np.unique(regions[0]).tolist() == [0, 1, 2]


def test_folder_grey_jpeg_and_palette_mask(tmp_path, rng):
    root = tmp_path / "mine"
    (root / "images").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (5, 7), dtype=np.uint8)).save(root / "images" / "a.jpg")
    _write_mask(root / "masks" / "a.png", np.eye(5, 7) * 3, palette=True)
    sample = FolderDataset(root)[0]
    assert sample.image.shape == (5, 7, 3)
    assert np.unique(sample.mask).tolist() == [0, 3]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", r"cannot read JSON"),
    ('{"a": 1}', r"expected a list of class names"),
    ("[]", r"expected a list of class names"),
    ('["a", 3]', r"entry 1: expected"),
    ('[{"name": "a", "color": [1, 2]}]', r"entry 0: color must be \[r, g, b\]"),
    ('["a", "a"]', r"duplicate class names \['a'\]"),
])
def test_folder_bad_classes_json(tmp_path, content, message):
    path = tmp_path / "classes.json"
    path.write_text(content)
    with pytest.raises(DatasetFileError, match=r"classes\.json: " + message):
        read_classes_json(path)


def test_folder_layout_errors(tmp_path, rng):
    with pytest.raises(TypeError, match=r"root is required for the folder dataset"):
        FolderDataset(None)
    with pytest.raises(FileNotFoundError, match=r"root of the folder dataset does not exist"):
        FolderDataset(tmp_path / "nowhere")
    root = _make_folder(tmp_path / "mine", rng, n=1)
    _write_image(root / "images" / "img1.jpg", rng)
    with pytest.raises(DatasetFileError, match=r"two images share the stem 'img1'"):
        FolderDataset(root)
    (root / "images" / "img1.jpg").unlink()
    (root / "masks" / "img1.png").rename(root / "masks_moved.png")
    (root / "masks").rmdir()
    with pytest.raises(FileNotFoundError, match=r"no folder .*masks"):
        FolderDataset(root)


def test_verify_reports_each_problem_with_its_file(tmp_path, rng):
    root = _make_folder(tmp_path / "mine", rng, n=5, shape=(16, 16), classes=["bg", "a", "b"])
    truncated = root / "images" / "img2.png"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    wrong_size = root / "masks" / "img3.png"
    _write_mask(wrong_size, np.zeros((15, 16)))
    out_of_range = root / "masks" / "img4.png"
    _write_mask(out_of_range, np.full((16, 16), 7))
    missing = root / "masks" / "img5.png"
    missing.rename(root / "masks" / "orphan.png")

    problems = {p.sample_id: p for p in FolderDataset(root).verify()}
    assert sorted(problems) == ["img2", "img3", "img4", "img5", "orphan"]
    assert problems["img2"].path == str(truncated)
    assert "cannot decode image" in problems["img2"].message
    assert problems["img3"].path == str(wrong_size)
    assert "mask size (15, 16) differs from image size (16, 16)" in problems["img3"].message
    assert problems["img4"].path == str(out_of_range)
    assert "256 pixels with labels [7] outside 0..2" in problems["img4"].message
    assert problems["img5"].path == str(missing) and problems["img5"].message == "file not found"
    assert problems["orphan"].path == str(root / "masks" / "orphan.png")
    assert "no image" in str(problems["orphan"])


# --------------------------------------------------------------------------- registry

def test_registry_names():
    assert list(DATASETS) == ["synthetic", "bsds500", "camvid", "voc", "folder"]
    assert DATASETS["camvid"] is CamVid and DATASETS["folder"] is FolderDataset


def test_load_dataset_unknown_name_lists_valid():
    with pytest.raises(ValueError,
                       match=r"unknown dataset 'camvid2'; valid names: bsds500, camvid, "
                             r"folder, synthetic, voc"):
        load_dataset("camvid2")
    with pytest.raises(TypeError, match=r"name must be a dataset name \(str\); got int"):
        load_dataset(3)


def test_load_dataset_passes_options(tmp_path, rng):
    devkit = _make_voc(tmp_path / "VOCdevkit", rng)
    dataset = load_dataset("VOC", root=devkit, year="2012")
    assert isinstance(dataset, VOC) and dataset.split == "val"
    assert load_dataset("voc", "train", devkit).split == "train"
    with pytest.raises(TypeError, match=r"dataset 'voc' does not accept \['seed'\].*options: year"):
        load_dataset("voc", root=devkit, seed=1)
    folder = load_dataset("folder", root=_make_folder(tmp_path / "mine", rng, n=2))
    assert isinstance(folder, FolderDataset) and len(folder) == 2  # split None: root itself


def test_available_splits_registry(tmp_path, rng):
    devkit = _make_voc(tmp_path / "VOCdevkit", rng)
    assert available_splits("voc", devkit) == ["train", "val"]
    assert available_splits("voc", devkit, year="2012") == ["train", "val"]
    root = _make_bsds(tmp_path / "BSDS500", rng, split="train")
    _make_bsds(root, rng, split="bench_sample")
    assert available_splits("BSDS500", root) == ["train", "bench_sample"]
    with pytest.raises(TypeError, match=r"root is required for the folder dataset"):
        available_splits("folder")
    with pytest.raises(ValueError, match=r"unknown dataset 'bsds'; valid names: bsds500"):
        available_splits("bsds")


def test_available_splits_synthetic():
    pytest.importorskip("benchmarks.datasets.synthetic")
    assert available_splits("synthetic") == ["train", "val", "test"]
    dataset = load_dataset("synthetic", root="/ignored", preset="easy")
    assert dataset.split == "val" and dataset.root is None
    import benchmarks.datasets as package

    assert "SyntheticDataset" in package.__all__
    assert package.SyntheticDataset is DATASETS["synthetic"] is type(dataset)


def test_import_is_light():
    code = ("import sys, benchmarks.datasets as d; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'benchmarks.datasets.synthetic' not in sys.modules, 'synthetic imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
