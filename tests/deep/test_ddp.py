"""Distributed data parallel training: two CPU processes under torchrun (gloo)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch.distributed as dist

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import hashlib, json, os, sys
    import torch
    torch.set_num_threads(1)
    from benchmarks.datasets.synthetic import SyntheticDataset, SyntheticParams
    from deep.train import TrainConfig, fit

    out = sys.argv[1]
    params = SyntheticParams(height=48, width=48, num_classes=4, n_regions=(3, 5),
                             min_size=50, n_train=8, n_val=3, n_test=0)
    config = TrainConfig(model="fcn8s_mobilenet_v3_small", model_options={"dropout": 0.2},
                         epochs=2, batch_size=2, crop_size=32, lr=0.01,
                         out_dir=os.path.join(out, "run"))
    summary = fit(config, progress=False,
                  train_dataset=SyntheticDataset("train", params=params),
                  val_dataset=SyntheticDataset("val", params=params))
    digest = hashlib.sha256()
    for key, value in sorted(summary.model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    valid = sum(int((s.mask != 255).sum()) for s in SyntheticDataset("val", params=params))
    rank = int(os.environ["RANK"])
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump({"hash": digest.hexdigest(), "steps": summary.steps,
                   "pixels": summary.last_scores.pixels, "valid": valid,
                   "miou": summary.last_scores.mean_iou,
                   "world": torch.distributed.is_initialized()}, handle)
""")


def _torchrun_available() -> str | None:
    if not dist.is_available():
        return "torch.distributed is not available in this build"
    if not dist.is_gloo_available():
        return "the gloo backend is not available in this build"
    if importlib.util.find_spec("torch.distributed.run") is None:
        return "torchrun (torch.distributed.run) is not available"
    return None


@pytest.mark.slow
def test_two_process_ddp_gives_identical_weights(tmp_path):
    reason = _torchrun_available()
    if reason:
        pytest.skip(reason)
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(script), str(tmp_path)]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0]["hash"] == ranks[1]["hash"]
    # 8 images, 2 ranks, batch 2: 2 steps per epoch on each rank
    assert ranks[0]["steps"] == ranks[1]["steps"] == 4
    # validation is sharded without padding (3 images over 2 ranks) and summed exactly
    assert ranks[0]["pixels"] == ranks[1]["pixels"] == ranks[0]["valid"]
    assert ranks[0]["miou"] == ranks[1]["miou"]
    # the process group was torn down by fit
    assert ranks[0]["world"] is False

    from deep.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert len(checkpoint["rng"]) == 2 and checkpoint["extra"]["world_size"] == 2
