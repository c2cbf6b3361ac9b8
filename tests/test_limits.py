"""flowlab.limits: what a sweep would take, measured against what a run writes and what the machine has."""

import collections
import warnings
from pathlib import Path

import pytest

from flowlab import MLP, Experiment, limits
from flowlab.limits import check_resources, estimate


def _config(**kw):
    return {"dataset": "iris", "hidden": [8], "epochs": 10, "dtype": "float64", "batch_size": None, **kw}


def _bytes_under(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def test_the_disk_estimate_counts_the_networks_parameters():
    # with no epochs, the disk estimate is the saved weights: the real MLP's parameter count times the itemsize
    mlp = MLP([4, 8, 3])
    params = sum(p.value.size for p in mlp.params)
    assert estimate(_config(epochs=0))[1] == params * 8
    assert estimate(_config(epochs=0, dtype="float32"))[1] == params * 4


def test_the_disk_estimate_per_epoch_is_near_what_a_run_writes(tmp_path):
    # The oracle is the run itself: the bytes a real sweep writes for 10 more epochs, histograms on and off.
    for histograms in (True, False):
        written = []
        for epochs in (2, 12):
            logdir = tmp_path / f"{histograms}-{epochs}"
            Experiment("e", logdir=logdir, dataset="iris", hidden=[8], epochs=epochs, workers=1,
                       histograms=histograms).sweep()
            written.append(_bytes_under(logdir))
        measured = (written[1] - written[0]) / 10
        estimated = (estimate(_config(epochs=12), histograms)[1] - estimate(_config(epochs=2), histograms)[1]) / 10
        assert 0.5 * measured <= estimated <= 3 * measured, (histograms, measured, estimated)


def test_a_run_bigger_than_the_machines_memory_is_refused_with_its_numbers(tmp_path):
    with pytest.raises(ValueError, match=r"hidden=\[10000000\], epochs=10 would need about .* of memory .* "
                                         r"smaller hidden widths"):
        check_resources([_config(hidden=[10_000_000])], tmp_path)


def test_workers_multiply_the_memory_of_the_biggest_run(tmp_path, monkeypatch):
    memory = estimate(_config())[0]
    monkeypatch.setattr(limits, "_physical_memory", lambda: int(memory * 3 / 0.8) + 16)  # room for three runs at once
    check_resources([_config()], tmp_path, workers=3)
    with pytest.raises(ValueError, match=r"\(4 at once: .*fewer workers"):
        check_resources([_config()], tmp_path, workers=4)


def test_a_sweep_bigger_than_the_free_disk_is_refused_and_the_nearest_existing_folder_is_measured(tmp_path, monkeypatch):
    asked = []
    usage = collections.namedtuple("usage", "total used free")

    def disk_usage(path):
        asked.append(Path(path))
        return usage(10**9, 10**9 - 1000, 1000)

    monkeypatch.setattr(limits.shutil, "disk_usage", disk_usage)
    logdir = tmp_path / "not" / "made" / "yet"
    with pytest.raises(ValueError, match=r"this sweep would write about .* free; use fewer epochs or runs, or "
                                         r"histograms=False"):
        check_resources([_config()], logdir)
    assert asked == [tmp_path]
    assert not (tmp_path / "not").exists()


def test_a_sweep_that_fits_but_is_large_warns(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "WARN_BYTES", estimate(_config())[1] * 2 - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_resources([_config()], tmp_path)  # one run: under the threshold, no warning
    with pytest.warns(UserWarning, match="this sweep will write about"):
        check_resources([_config(), _config(hidden=[9])], tmp_path)
