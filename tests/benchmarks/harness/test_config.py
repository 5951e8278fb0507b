import json
import sys
import tomllib
from pathlib import Path

import pytest

from benchmarks.config import CONFIG_DIR, DatasetConfig, MethodConfig, RunConfig, load_config
from benchmarks.runner import default_config
from classical.predicates import parse_predicate

COMMITTED = sorted(CONFIG_DIR.glob("*.toml"))

SMALL = '''
seed = 3
jobs = 2
out = "runs/x"

[[datasets]]
name = "synthetic"
split = "val"
max_images = 4
tune_split = "train"
options = { preset = "easy" }

[[methods]]
name = "felzenszwalb"
params = { sigma = 0.5 }
sweep = { param = "scale", values = [50, 100] }

[[methods]]
name = "kmeans"
label = "kmeans-texture"
params = { features = ["lab", "gabor"] }

[robustness]
perturbations = ["noise(0.05)", "none", "blur(1)"]
'''

SMALL_CONFIG = RunConfig(
    datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"}, max_images=4,
                            tune_split="train"),),
    methods=(MethodConfig("felzenszwalb", {"sigma": 0.5}, "scale", (50, 100)),
             MethodConfig("kmeans", {"features": ("lab", "gabor")}, label="kmeans-texture")),
    perturbations=("noise(0.05)", "blur(1)"), seed=3, jobs=2, out="runs/x")


def _write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_there_are_committed_configs():
    assert {p.name for p in COMMITTED} >= {"demo.toml", "bsds_val.toml", "camvid_val.toml",
                                           "robustness.toml"}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_configs_load_validate_and_round_trip(path, monkeypatch):
    # A checkpoint a committed config names comes from a command in RESULTS.md and is not
    # committed; where it is absent, stand in for its header (the model it holds).
    import benchmarks.deep_methods as deep_methods

    names = {m["checkpoint"]: m["name"] for m in tomllib.loads(path.read_text())["methods"]
             if "checkpoint" in m}
    real = deep_methods.checkpoint_info
    monkeypatch.setattr(deep_methods, "checkpoint_info", lambda p: real(p) if Path(p).is_file()
                        else {"model_name": names[str(p)]})
    config = load_config(path)
    assert config.datasets and config.methods
    for method in config.methods:
        method.check(config.seed)
    assert RunConfig.from_dict(config.to_dict()) == config


def test_demo_config_is_the_default():
    assert load_config(CONFIG_DIR / "demo.toml") == default_config()


def test_demo_and_camvid_configs_train_an_fcn_in_the_run():
    from classical.methods import METHODS

    demo = default_config()
    assert [m.name for m in demo.methods if m.kind == "classical"] == list(METHODS)
    (fcn,) = [m for m in demo.methods if m.kind == "deep"]
    assert fcn.name == "fcn8s_resnet18" and fcn.checkpoint is None
    assert 1.0 <= fcn.train["minutes"] <= 3.0 and fcn.train["crop_size"] == (128, 128)
    camvid = load_config(CONFIG_DIR / "camvid_val.toml")
    (fcn,) = [m for m in camvid.methods if m.kind == "deep"]
    assert fcn.train["minutes"] == 20.0 and fcn.tta_flip
    assert [m.name for m in camvid.methods if m.kind == "classical"] == list(METHODS)
    assert "DEEP METHOD GOES HERE" not in (CONFIG_DIR / "camvid_val.toml").read_text()


def test_bsds_config_sweeps_twelve_values_and_tunes_on_train():
    config = load_config(CONFIG_DIR / "bsds_val.toml")
    assert [(d.name, d.split, d.tune_split) for d in config.datasets] == [
        ("bsds500", "val", "train")]
    from classical.methods import METHODS
    assert [m.name for m in config.methods] == list(METHODS)
    for method in config.methods:
        segmenter = method.build()
        values = segmenter.sweep_values
        assert segmenter.sweep_param == MethodConfig(method.name).build().sweep_param
        assert len(values) == 12 and len(set(values)) == 12, method.name
        default = MethodConfig(method.name).build().sweep_values
        if isinstance(values[0], str):  # region growing: the colour part's threshold
            values = [parse_predicate(v).colour.threshold for v in values]
            default = [parse_predicate(v).colour.threshold for v in default]
        # Covers the default range, in the default's direction (fine to coarse).
        assert min(values) <= min(default) and max(values) >= max(default), method.name
        assert (values[0] < values[-1]) == (default[0] < default[-1]), method.name
        assert list(values) in (sorted(values), sorted(values, reverse=True)), method.name


def test_robustness_config_has_perturbations():
    config = load_config(CONFIG_DIR / "robustness.toml")
    assert len(config.perturbations) >= 4 and "none" not in config.perturbations


def test_load_toml_and_yaml(tmp_path):
    assert load_config(_write(tmp_path, SMALL)) == SMALL_CONFIG
    yaml = pytest.importorskip("yaml")
    import tomllib
    path = _write(tmp_path, yaml.safe_dump(tomllib.loads(SMALL)), "c.yaml")
    assert load_config(path) == SMALL_CONFIG


def test_yaml_without_pyyaml_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    with pytest.raises(ImportError, match=r"c.yml: reading YAML configs needs PyYAML; install"):
        load_config(_write(tmp_path, "seed: 0\n", "c.yml"))


def test_a_runs_config_json_loads_back(tmp_path):
    path = _write(tmp_path, json.dumps(SMALL_CONFIG.to_dict()), "config.json")
    assert load_config(path) == SMALL_CONFIG


def test_first_release_layout_still_reads():
    old = {"dataset": "synthetic", "split": "val", "root": None,
           "dataset_options": {"preset": "easy"}, "max_images": 3, "jobs": 1,
           "methods": [{"name": "slic", "params": {}, "sweep_param": None,
                        "sweep_values": [64, 16]}]}
    assert RunConfig.from_dict(old) == RunConfig(
        datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"}, max_images=3),),
        methods=(MethodConfig("slic", sweep_values=(64, 16)),))


BASE = '[[datasets]]\nname = "synthetic"\n[[methods]]\nname = "slic"\n'


@pytest.mark.parametrize("text, error, message", [
    ("seeds = 1\n" + BASE, ValueError,
     r"c.toml: top level: unknown key 'seeds'; valid keys: seed, jobs, out, datasets, methods, "
     r"robustness. Did you mean 'seed'\?"),
    (BASE.replace('name = "synthetic"', 'name = "synthetic"\nmax_image = 3'), ValueError,
     r"c.toml: \[\[datasets\]\] #1: unknown key 'max_image'; valid keys: name, split, root, "
     r"max_images"),
    (BASE + 'parms = { n_segments = 3 }\n', ValueError,
     r"c.toml: \[\[methods\]\] #1: unknown key 'parms'; valid keys: name, label, params, sweep"),
    (BASE + 'sweep = { parm = "n_segments" }\n', ValueError,
     r"\[\[methods\]\] #1 \('slic'\): sweep: unknown key 'parm'; valid keys: param, values"),
    (BASE.replace('name = "synthetic"', 'name = "synthetic"\nmax_images = "10"'), TypeError,
     r"c.toml: \[\[datasets\]\] #1: max_images must be an integer; got '10' \(str\)"),
    (BASE.replace('name = "synthetic"', 'name = "synthetic"\nmax_images = 0'), ValueError,
     r"\[\[datasets\]\] #1: max_images must be >= 1; got 0"),
    ("jobs = 1.5\n" + BASE, TypeError, r"top level: jobs must be an integer; got 1.5"),
    (BASE.replace('"slic"', '"slik"'), ValueError,
     r"c.toml: \[\[methods\]\] #1 \('slik'\): unknown method 'slik'; valid: region_growing.*"
     r"Did you mean 'slic'\?"),
    (BASE.replace('"synthetic"', '"bsds"'), ValueError,
     r"c.toml: \[\[datasets\]\] #1: unknown dataset 'bsds'; valid names: bsds500"),
    (BASE + 'sweep = { param = "scale", values = [1, 2] }\n', ValueError,
     r"\[\[methods\]\] #1 \('slic'\): method 'slic' cannot sweep 'scale'.*valid parameters: "
     r"compactness, n_segments, sigma"),
    (BASE + 'sweep = { param = "n_segments", values = [] }\n', ValueError,
     r"sweep: values is empty"),
    (BASE + 'params = { n_segmentz = 3 }\n', ValueError,
     r"\('slic'\): slic has no parameter 'n_segmentz'"),
    (BASE + 'params = 3\n', TypeError, r"\('slic'\): params must be a table"),
    (BASE + '[[methods]]\nname = "slic"\n', ValueError,
     r"uses the label 'slic' twice; give each entry a distinct label"),
    (BASE.replace('name = "synthetic"', 'name = "synthetic"\ntune_split = "val"'), ValueError,
     r"tune_split must differ from split \('val'\)"),
    (BASE.replace('name = "synthetic"', 'name = "synthetic"\nsplit = 3'), TypeError,
     r"\[\[datasets\]\] #1: split must be a non-empty string; got 3 \(int\)"),
    (BASE + '[robustness]\nperturbations = ["fog(2)"]\n', ValueError,
     r"c.toml: \[robustness\]: perturbations: .*fog"),
    (BASE + '[robustness]\nperturbation = ["noise(0.1)"]\n', ValueError,
     r"\[robustness\]: unknown key 'perturbation'; valid keys: perturbations"),
    ('[[methods]]\nname = "slic"\n', ValueError, r"c.toml: no \[\[datasets\]\] table"),
    ('[[datasets]]\nname = "synthetic"\n', ValueError, r"c.toml: no \[\[methods\]\] table"),
    (BASE + BASE.split("[[methods]]")[0], ValueError,
     r"lists 'synthetic' split 'val' twice"),
    (BASE + '[[datasets]]\nname = "synthetic"\nsplit = "train"\noptions = { preset = "hard" }\n',
     ValueError, r"#2: label 'synthetic' is already used .* give each a distinct label"),
    ("seed = [\n", ValueError, r"c.toml: not valid TOML"),
])
def test_config_errors_name_file_table_and_key(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        load_config(_write(tmp_path, text))


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.toml' does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match=r"must end in .toml, .yaml, .yml or .json; got '.ini'"):
        load_config(_write(tmp_path, BASE, "c.ini"))
    with pytest.raises(TypeError, match="a config must be a table of keys; got list"):
        load_config(_write(tmp_path, "[1, 2]", "c.json"))


def test_labels_default_to_names_and_split_pairs():
    dataset = DatasetConfig("bsds500", "val", tune_split="train")
    assert dataset.label == "bsds500" and dataset.splits == ("val", "train")
    assert MethodConfig("slic").label == "slic"
    config = RunConfig(datasets=(dataset, DatasetConfig("bsds500", "train")),
                       methods=(MethodConfig("slic"),))
    # train is scored by the second entry, so it is listed once, as scored.
    assert [(s, role) for _, s, role in config.scored_splits()] == [
        ("val", "score"), ("train", "score")]


DEEP = '''
[[datasets]]
name = "synthetic"

[[methods]]
name = "slic"

[[methods]]
name = "fcn8s_resnet18"
label = "fcn"
tta_flip = true

[methods.train]
minutes = 1.5
batch_size = 4
crop_size = [64, 64]
model_options = { dropout = 0.1 }
'''


def test_deep_entries_round_trip(tmp_path):
    pytest.importorskip("torch")
    config = load_config(_write(tmp_path, DEEP))
    slic, fcn = config.methods
    assert (slic.kind, fcn.kind) == ("classical", "deep")
    assert fcn == MethodConfig("fcn8s_resnet18", label="fcn", tta_flip=True, train={
        "minutes": 1.5, "batch_size": 4, "crop_size": (64, 64),
        "model_options": {"dropout": 0.1}})
    assert fcn.to_dict() == {"name": "fcn8s_resnet18", "label": "fcn", "tta_flip": True,
                             "train": {"minutes": 1.5, "batch_size": 4, "crop_size": (64, 64),
                                       "model_options": {"dropout": 0.1}}}
    assert RunConfig.from_dict(config.to_dict()) == config
    assert load_config(_write(tmp_path, json.dumps(config.to_dict()), "c.json")) == config
    spec = fcn.train_spec(seed=7)
    assert (spec.model, spec.minutes, spec.tta_flip) == ("fcn8s_resnet18", 1.5, True)
    assert spec.options["seed"] == 7 and spec.options["val_split"] is None
    assert spec.options["crop_size"] == [64, 64]
    with pytest.raises(ValueError, match="trained in the run: it has no checkpoint"):
        fcn.build()
    checkpoint = MethodConfig("fcn8s_resnet18", checkpoint="runs/x/best.pt")
    assert RunConfig.from_dict({"datasets": [{"name": "synthetic"}],
                                "methods": [checkpoint.to_dict()]},
                               check_methods=False).methods == (checkpoint,)


FCN_ENTRY = '[[datasets]]\nname = "synthetic"\n[[methods]]\nname = "fcn8s_resnet18"\n'


@pytest.mark.parametrize("text, error, message", [
    (FCN_ENTRY + 'train = { minutes = 1 }\nparams = { a = 1 }\n', ValueError,
     r"#1 \('fcn8s_resnet18'\): a deep method takes no params .* Valid keys: name, label, "
     r"checkpoint, train, tta_flip"),
    (FCN_ENTRY + 'checkpoint = "x.pt"\nsweep = { param = "a", values = [1] }\n', ValueError,
     r"a deep method takes no sweep"),
    (FCN_ENTRY + 'checkpoint = "x.pt"\ntrain = { minutes = 1 }\n', ValueError,
     r"give either checkpoint \(a trained model\) or train"),
    (BASE + 'tta_flip = true\n', ValueError, r"\('slic'\): tta_flip is for deep methods"),
    (FCN_ENTRY + 'checkpoint = "x.pt"\ntta_flip = "yes"\n', TypeError,
     r"tta_flip must be true or false; got 'yes'"),
    (FCN_ENTRY + 'train = 3\n', TypeError, r"train must be a table"),
    (FCN_ENTRY + 'train = { minutes = 0 }\n', ValueError, r"train: minutes must be a number > 0"),
    (FCN_ENTRY + 'train = { minutes = "2" }\n', TypeError, r"train: minutes must be a number"),
    (FCN_ENTRY + 'train = { batch_size = 4 }\n', ValueError,
     r"train needs a budget: minutes = .* and/or epochs"),
])
def test_deep_entry_errors(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        load_config(_write(tmp_path, text))


@pytest.mark.parametrize("text, error, message", [
    (FCN_ENTRY + 'train = { minutes = 1, batch_sise = 4 }\n', ValueError,
     r"c.toml: \[\[methods\]\] #1 \('fcn8s_resnet18'\): train: training options "
     r"\['batch_sise'\] are not TrainConfig fields; valid: model_options, .* Did you mean "
     r"'batch_size'\?"),
    (FCN_ENTRY + 'train = { minutes = 1, dataset = "camvid" }\n', ValueError,
     r"train: training options \['dataset'\] are set by the run"),
    (FCN_ENTRY + 'train = { minutes = 1, lr = -1.0 }\n', ValueError, r"train: lr must be"),
    (FCN_ENTRY + 'train = { minutes = 1, batch_size = 2.5 }\n', TypeError,
     r"train: batch_size must be an integer"),
    (FCN_ENTRY.replace("fcn8s_resnet18", "fcn8s_resnett18") + 'train = { minutes = 1 }\n',
     ValueError, r"a deep method's name must be a model of `segbench train --list-models`; "
     r"got 'fcn8s_resnett18'. Did you mean 'fcn8s_resnet18'\?"),
    (FCN_ENTRY + 'checkpoint = "nowhere.pt"\n', ValueError,
     r"\('fcn8s_resnet18'\): checkpoint 'nowhere.pt' does not exist"),
])
def test_deep_entry_errors_found_by_checking(tmp_path, monkeypatch, text, error, message):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        load_config(_write(tmp_path, text))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"checkpoint": "a.pt", "train": {"minutes": 1}}, ValueError, "not both"),
    ({"checkpoint": "a.pt", "params": {"x": 1}}, ValueError, "takes no params or sweep"),
    ({"train": {"minutes": 1}, "sweep_values": (1, 2)}, ValueError, "takes no params or sweep"),
    ({"tta_flip": True}, ValueError, "tta_flip is for deep methods"),
    ({"checkpoint": "a.pt", "tta_flip": 1}, TypeError, "tta_flip must be True or False"),
])
def test_method_config_built_in_python_follows_the_file_rules(kwargs, error, message):
    with pytest.raises(error, match=message):
        MethodConfig("fcn8s_resnet18", **kwargs)
