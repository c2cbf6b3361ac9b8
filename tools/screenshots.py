"""Screenshots of what TensorBoard shows for flowlab's sweeps, taken in headless Chromium.

Runs the default sweep (``flowlab sweep``), the activations and learning-rate experiments and a
two-feature sweep (for the decision-boundary images) into a fresh logdir, serves each sweep with this interpreter's
TensorBoard on 127.0.0.1, and saves what a student sees on each dashboard: Time Series (the landing
page), Scalars, Histograms, HParams (table and parallel coordinates), Graphs, Images and Custom
Scalars. The README's pictures in docs/images/ come from here::

    python tools/screenshots.py --out docs/images          # about a minute on 2 cores

Needs Debian's ``chromium`` and the ``playwright`` Python package (``pip install playwright``,
never ``playwright install``: the system's Chromium is used). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SIZE = {"width": 1400, "height": 900}


def run(cmd, **kwargs):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, **kwargs)
    if proc.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def sweep_dir(stdout):
    """The sweep directory from the `tensorboard --logdir DIR` line a flowlab command prints."""
    return Path(re.findall(r"tensorboard --logdir (\S+)", stdout)[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoard:
    """``python -m tensorboard.main --logdir DIR`` on a free loopback port, until closed."""

    def __init__(self, logdir, log):
        self.port = free_port()
        self.log = open(log, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                                         "--host", "127.0.0.1", "--port", str(self.port)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "data/runs", timeout=2).read()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"tensorboard did not start; see {log}")
                time.sleep(0.5)
        time.sleep(4)  # let it load every run once

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def settle(page, seconds=4.0):
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(seconds * 1000)


def filter_runs(page, regex):
    """Types ``regex`` into the legacy dashboards' run filter (what the README tells students to do)."""
    box = page.locator("#names-regex input, input#names-regex, paper-input#names-regex input").first
    box.fill(regex)
    settle(page, 3)


def shoot(browser, url, path, before=None, full=False):
    page = browser.new_page(viewport=SIZE)
    page.goto(url)
    settle(page)
    if before:
        before(page)
    page.screenshot(path=str(path), full_page=full)
    page.close()
    print(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images", help="folder for the PNGs (default docs/images)")
    parser.add_argument("--logdir", default=None, help="where the sweeps go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary logdir")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="flowlab-shots-"))
    flowlab = [sys.executable, "-m", "flowlab"]
    default = sweep_dir(run([*flowlab, "sweep", "--logdir", logdir, "--no-progress"]))
    activations = sweep_dir(run([sys.executable, ROOT / "experiments" / "activations.py", "--logdir", logdir]))
    rates = sweep_dir(run([sys.executable, ROOT / "experiments" / "learning_rates.py", "--logdir", logdir]))
    moons = sweep_dir(run([*flowlab, "sweep", "--name", "moons", "--dataset", "moons", "--hidden", "16",
                           "--lr", "0.01", "0.1", "--activation", "tanh", "relu", "--optimizer", "adam",
                           "--epochs", "30", "--logdir", logdir, "--no-progress"]))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            tb = TensorBoard(default, logdir / "tensorboard-default.log")
            try:
                shoot(browser, tb.url + "#timeseries", out / "timeseries.png")
                shoot(browser, tb.url + "#scalars", out / "scalars-81-runs.png")  # past 40 runs: none ticked
                shoot(browser, tb.url + "#scalars", out / "scalars.png",
                      before=lambda page: filter_runs(page, "optimizer=adam"))
                shoot(browser, tb.url + "#histograms", out / "histograms.png",
                      before=lambda page: filter_runs(page, r"lr=0\.01,activation=(sigmoid|relu),optimizer=sgd/train"))
                shoot(browser, tb.url + "#hparams", out / "hparams-table.png")
                shoot(browser, tb.url + "#hparams", out / "hparams-parallel.png",
                      before=lambda page: (page.get_by_text("PARALLEL COORDINATES VIEW").click(), settle(page, 3)))
                shoot(browser, tb.url + "#graphs", out / "graphs.png")
            finally:
                tb.close()
            tb = TensorBoard(activations, logdir / "tensorboard-activations.log")
            try:
                def sigmoid_on_log_axes(page):
                    filter_runs(page, "activation=sigmoid/train")
                    for button in page.locator('[title="Toggle y-axis log scale"]').all():
                        if button.is_visible():
                            button.click()
                    settle(page, 2)

                shoot(browser, tb.url + "#custom_scalars", out / "custom-scalars.png", before=sigmoid_on_log_axes)
            finally:
                tb.close()
            tb = TensorBoard(rates, logdir / "tensorboard-learning-rates.log")
            try:  # lr=10 diverges in its first epoch: its row and its line are there, status diverged
                shoot(browser, tb.url + "#hparams", out / "hparams-learning-rates.png",
                      before=lambda page: (page.get_by_text("PARALLEL COORDINATES VIEW").click(), settle(page, 3)))
            finally:
                tb.close()
            tb = TensorBoard(moons, logdir / "tensorboard-moons.log")
            try:
                shoot(browser, tb.url + "#images", out / "images.png")
            finally:
                tb.close()
        finally:
            browser.close()
    if not args.logdir and not args.keep:
        shutil.rmtree(logdir, ignore_errors=True)
    else:
        print(f"logdir: {logdir}")


if __name__ == "__main__":
    main()
