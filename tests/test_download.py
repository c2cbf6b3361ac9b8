"""flowlab.download against a real HTTP server on 127.0.0.1 serving small generated IDX files."""

import gzip
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fakes import idx_bytes
from flowlab import download as dl
from flowlab.cli import main
from flowlab.data import load_dataset
from flowlab.experiment import Experiment

ROOT = Path(__file__).parent.parent
NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def fake():
    """The four files of a tiny MNIST (30 training, 10 test images), gzipped, and the arrays in them."""
    rng = np.random.default_rng(0)
    arrays = {"train-images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              "train-labels": (np.arange(30) % 10).astype(np.uint8),
              "t10k-images": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
              "t10k-labels": (np.arange(10)[::-1] % 10).astype(np.uint8)}
    files = {name: gzip.compress(idx_bytes(arrays[name.rsplit("-", 2)[0]]), mtime=0) for name in NAMES}
    sums = {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()}
    return {"files": files, "arrays": arrays, "checksums": sums}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.log.append(self.path)
        payload, mode = server.routes.get(self.path, (None, "404"))
        if mode == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if mode == "ok":
            self.wfile.write(payload)
            return
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        if mode == "stall":  # hold the connection open until the test is done (bounded)
            server.release.wait(30)
        self.connection.shutdown(socket.SHUT_RDWR)  # "drop": the connection dies mid-file

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.log, httpd.release = {}, [], threading.Event()
    httpd.url = lambda mirror: f"http://127.0.0.1:{httpd.server_port}/{mirror}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def online(monkeypatch, server, fake):
    """Downloads on, MNIST's mirrors /a/ then /b/ on the local server, the fake files' checksums."""
    monkeypatch.delenv("FLOWLAB_OFFLINE", raising=False)
    monkeypatch.setitem(dl.MIRRORS, "mnist", (server.url("a"), server.url("b")))
    monkeypatch.setitem(dl.CHECKSUMS, "mnist", fake["checksums"])
    monkeypatch.setitem(dl.MIRRORS, "fashion-mnist", (server.url("nothing-here"),))  # never the real ones
    return server


def serve(server, mirror, files, mode="ok", only=None):
    for name, data in files.items():
        if only is None or name == only:
            server.routes[f"/{mirror}/{name}"] = (data, mode)


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def test_downloads_checks_and_loads_from_the_first_mirror(online, fake, tmp_path):
    serve(online, "a", fake["files"])
    cache = tmp_path / "cache"
    data = load_dataset("mnist", download_dir=cache, standardize=False, dtype=np.float64)
    a = fake["arrays"]
    np.testing.assert_array_equal(data.x_train, a["train-images"].reshape(30, -1) / 255.0)
    np.testing.assert_array_equal(data.y_val, a["t10k-labels"])
    for name, payload in fake["files"].items():
        assert (cache / "mnist" / name).read_bytes() == payload
        assert oct((cache / "mnist" / name).stat().st_mode & 0o777) == "0o644"
    assert sorted(online.log) == sorted(f"/a/{n}" for n in NAMES) and not leftovers(cache / "mnist")
    load_dataset("mnist", download_dir=cache)  # cached: checked, not fetched again
    assert len(online.log) == 4


@pytest.mark.parametrize("fault", ["corrupt", "drop", "short", "404"])
def test_a_bad_mirror_falls_to_the_next_and_leaves_nothing_half_written(online, fake, tmp_path, fault):
    victim = "train-images-idx3-ubyte.gz"
    good = fake["files"][victim]
    bad = {"corrupt": (good[:100] + bytes([good[100] ^ 1]) + good[101:], "ok"), "drop": (good, "drop"),
           "short": (good[:-10], "ok"), "404": (good, "404")}[fault]
    serve(online, "a", fake["files"])
    online.routes[f"/a/{victim}"] = bad
    serve(online, "b", fake["files"])
    folder = dl.download("mnist", tmp_path / "cache", progress=False)
    assert (folder / victim).read_bytes() == good
    assert hashlib.sha256((folder / victim).read_bytes()).hexdigest() == fake["checksums"][victim][1]
    assert online.log.index(f"/a/{victim}") < online.log.index(f"/b/{victim}")
    assert [p for p in online.log if p.startswith("/b/")] == [f"/b/{victim}"]  # the others came from /a/
    assert not leftovers(folder)


def test_every_mirror_failing_is_a_clear_error_and_no_file(online, fake, tmp_path):
    victim = "train-images-idx3-ubyte.gz"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = f"http://127.0.0.1:{closed.getsockname()[1]}/c/"  # bound, never listening: refused
    good = fake["files"][victim]
    online.routes[f"/a/{victim}"] = (good[:50] + b"x" + good[51:], "ok")
    online.routes[f"/b/{victim}"] = (good, "drop")
    try:
        with pytest.raises(dl.DownloadError) as err:
            dl.download("mnist", tmp_path / "cache", mirrors=dl.MIRRORS["mnist"] + (refused,), progress=False)
    finally:
        closed.close()
    msg = str(err.value)
    folder = (tmp_path / "cache" / "mnist").resolve()
    assert f"{online.url('a')}{victim}: SHA-256" in msg and "does not match the published" in msg
    assert f"{online.url('b')}{victim}: transfer broke off after 11782 of 23564 bytes" in msg
    assert f"{refused}{victim}: " in msg and "by hand" in msg and str(folder) in msg and "--data-dir" in msg
    assert list(folder.iterdir()) == []


def test_offline_names_the_cache_and_never_connects(server, fake, tmp_path, monkeypatch):
    monkeypatch.setitem(dl.MIRRORS, "mnist", (server.url("a"),))
    serve(server, "a", fake["files"])
    assert os.environ["FLOWLAB_OFFLINE"] == "1"  # tests/conftest.py
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("mnist", download_dir=tmp_path / "cache")
    msg = str(err.value)
    assert str((tmp_path / "cache" / "mnist").resolve()) in msg and "FLOWLAB_OFFLINE" in msg
    assert "train-images-idx3-ubyte" in msg and "--data-dir" in msg
    logdir = tmp_path / "logs"
    with pytest.raises(ValueError, match="FLOWLAB_OFFLINE"):
        Experiment("m", logdir=logdir, dataset="mnist").sweep()
    assert server.log == [] and not logdir.exists()


def test_data_dir_with_the_files_wins_over_the_cache_and_the_network(online, fake, tmp_path):
    hand = tmp_path / "mine"
    hand.mkdir()
    for name, payload in fake["files"].items():
        (hand / name.removesuffix(".gz")).write_bytes(gzip.decompress(payload))  # unpacked by hand
    data = load_dataset("mnist", data_dir=hand, download_dir=tmp_path / "cache", standardize=False)
    np.testing.assert_array_equal(data.y_train, fake["arrays"]["train-labels"])
    assert online.log == [] and not (tmp_path / "cache").exists()


def test_a_cached_file_with_the_wrong_checksum_is_refused_and_kept(online, fake, tmp_path):
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    for name, payload in fake["files"].items():
        (folder / name).write_bytes(payload)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8))))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz does not match the published SHA-256.*delete it"):
        load_dataset("mnist", download_dir=tmp_path / "cache")
    assert (folder / "t10k-labels-idx1-ubyte.gz").exists() and online.log == []


def test_cli_download_command(online, fake, tmp_path, capsys):
    serve(online, "a", fake["files"])
    assert main(["datasets", "--download", "MNIST", "--download-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"in {tmp_path / 'c' / 'mnist'} (SHA-256 checked)" in out
    assert sorted(p.name for p in (tmp_path / "c" / "mnist").iterdir()) == sorted(NAMES)
    assert main(["datasets", "--download", "digits"]) == 2
    assert "needs no download" in capsys.readouterr().err
    assert main(["datasets", "--download", "mnsit"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    online.routes.clear()
    assert main(["datasets", "--download", "mnist", "--download-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "could not download train-images-idx3-ubyte.gz" in err and "HTTP 404" in err and "Traceback" not in err


def test_sweep_downloads_before_it_writes_and_stops_cleanly_when_it_cannot(online, fake, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLOWLAB_DOWNLOAD_DIR", str(tmp_path / "cache"))
    logdir = tmp_path / "logs"
    code = main(["sweep", "--dataset", "mnist", "--lr", "0.1", "--epochs", "1", "--hidden", "4", "--workers", "1",
                 "--logdir", str(logdir), "--no-progress"])
    assert code == 1 and not logdir.exists()
    assert "could not download" in capsys.readouterr().err
    serve(online, "b", fake["files"])
    results = Experiment("m", logdir=logdir, dataset="mnist", hidden=[4], epochs=1, workers=1).sweep()
    [run] = results
    assert run.status == "completed" and (tmp_path / "cache" / "mnist" / NAMES[0]).is_file()


_CHILD = """
import json, sys
from flowlab import download
from flowlab.cli import main
mirror, sums, cache = sys.argv[1:4]
download.MIRRORS["mnist"] = (mirror,)
download.CHECKSUMS["mnist"] = {k: tuple(v) for k, v in json.loads(sums).items()}
sys.exit(main(["datasets", "--download", "mnist", "--download-dir", cache]))
"""


def test_ctrl_c_during_a_download_leaves_no_partial_file(online, fake, tmp_path):
    serve(online, "a", fake["files"])
    online.routes["/a/t10k-images-idx3-ubyte.gz"] = (fake["files"]["t10k-images-idx3-ubyte.gz"], "stall")
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, online.url("a"), json.dumps(fake["checksums"]), str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.time() + 60
        part = []
        while time.time() < deadline and not (part and "/a/t10k-images-idx3-ubyte.gz" in online.log):
            folder = cache / "mnist"
            part = list(folder.glob(".t10k-images-idx3-ubyte.gz.*.part")) if folder.is_dir() else []
            time.sleep(0.05)
        assert part, "the download never started"
        time.sleep(0.5)  # half the file is in; the server holds back the rest
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    left = sorted(p.name for p in (cache / "mnist").iterdir())
    assert left == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]  # the two finished before it


def test_only_old_leftovers_of_killed_downloads_are_cleared(online, fake, tmp_path):
    serve(online, "a", fake["files"])
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    old = folder / ".train-images-idx3-ubyte.gz.k1ll3d.part"
    fresh = folder / ".t10k-images-idx3-ubyte.gz.l1ve.part"
    mine = folder / ".notes.part"
    for path in (old, fresh, mine):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    os.utime(mine, (hours_ago, hours_ago))
    dl.download("mnist", tmp_path / "cache", progress=False)
    assert not old.exists() and fresh.exists() and mine.exists()  # a live download's file, and not ours
