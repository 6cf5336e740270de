"""The Ray engine (engines/ray.py) on a local 2-CPU cluster started here: byte-identical to the local
engine, a worker killed with SIGKILL mid-run, a driver killed mid-run and rerun, bad input refused first.
Skipped only when the ``ray`` extra is not installed (``pip install 'prompt-recovery[ray]'``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'prompt-recovery[ray]'")

from prompt_recovery.engines.ray import PredictWorker, evaluate_file_ray, predict_ray
from prompt_recovery.errors import DataError
from prompt_recovery.evaluation import evaluate_file
from prompt_recovery.pipeline import PipelineConfig, train
from prompt_recovery.prediction import predict_file
from tests.test_pipeline import FAST

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ray") / "model"
    rows = pd.read_csv(DEMO / "train.csv", dtype=str)
    config = PipelineConfig(members=[dict(m) for m in FAST]).with_settings(bank="none")
    train(rows, config).save(folder)
    return folder


@pytest.fixture(scope="module")
def local(model: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("local") / "sub.csv"
    predict_file(DEMO / "test.csv", out, model=model)
    return out.read_bytes()


def test_ray_submission_is_byte_identical_to_local(ray_cluster, model: Path, local: bytes, tmp_path: Path):
    out = tmp_path / "sub.csv"
    result = predict_ray(DEMO / "test.csv", out, model=model, block_rows=5)  # 6 blocks over 2 workers
    assert out.read_bytes() == local
    assert result.blocks == 6 and result.resumed == 0 and 1 <= len(result.workers) <= 2
    assert not (tmp_path / "sub.csv.ray").exists()  # the shards of a finished run are gone


def crashing_worker(marker: Path) -> type:
    """A worker that SIGKILLs its own process on its first block, once in all (the marker file says it did)."""

    class Crashing(PredictWorker):
        def __call__(self, batch):
            if not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__call__(batch)

    return Crashing


def test_a_killed_worker_is_retried_and_every_id_appears_once(ray_cluster, model: Path, local: bytes, tmp_path: Path):
    out, marker = tmp_path / "sub.csv", tmp_path / "killed"
    predict_ray(DEMO / "test.csv", out, model=model, block_rows=5, worker=crashing_worker(marker))
    assert marker.exists()  # a worker did die
    ids = pd.read_csv(out, dtype=str)["id"]
    assert ids.is_unique and list(ids) == list(pd.read_csv(DEMO / "test.csv", dtype=str)["id"])
    assert out.read_bytes() == local


DRIVER = """
import sys, time
from prompt_recovery.engines.ray import PredictWorker, predict_ray

class Slow(PredictWorker):
    def __call__(self, batch):
        time.sleep(0.4)
        return super().__call__(batch)

predict_ray(sys.argv[1], sys.argv[2], model=sys.argv[3], block_rows=2, address=sys.argv[4], workers=1, worker=Slow)
"""


def test_a_rerun_after_the_driver_is_killed_skips_finished_blocks(
    ray_cluster, model: Path, local: bytes, tmp_path: Path
):
    out = tmp_path / "sub.csv"
    shards = tmp_path / "sub.csv.ray"
    address = ray_cluster.get_runtime_context().gcs_address
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path("src").resolve()), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", textwrap.dedent(DRIVER), str(DEMO / "test.csv"), str(out), str(model), address]
    driver = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(shards.glob("block-*.jsonl"))) < 3 and time.monotonic() < deadline:
            assert driver.poll() is None, "the driver ended before it could be killed"
            time.sleep(0.1)
    finally:
        driver.kill()  # SIGKILL: no cleanup runs
        driver.wait()
    finished = len(list(shards.glob("block-*.jsonl")))
    assert 3 <= finished < 14 and not out.exists()
    result = predict_ray(DEMO / "test.csv", out, model=model, block_rows=2)
    assert result.resumed >= finished and result.blocks == 14
    assert out.read_bytes() == local


def test_bad_input_is_refused_first_with_the_local_message(model: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(DEMO / "test.csv", dtype=str).drop(columns=["rewritten_text"]).to_csv(bad, index=False)
    with pytest.raises(DataError) as local_error:
        predict_file(bad, tmp_path / "a.csv", model=model)
    with pytest.raises(DataError) as ray_error:
        predict_ray(bad, tmp_path / "b.csv", model=model, address="127.0.0.1:1")  # no cluster is reached
    assert str(ray_error.value) == str(local_error.value)
    assert not (tmp_path / "b.csv.ray").exists()


def test_evaluate_on_ray_scores_as_local(ray_cluster, model: Path, tmp_path: Path):
    local = evaluate_file(DEMO / "test.csv", model, per_row=tmp_path / "local.csv")
    ray = evaluate_file_ray(DEMO / "test.csv", model, per_row=tmp_path / "ray.csv", block_rows=7)
    assert ray.results == local.results
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
