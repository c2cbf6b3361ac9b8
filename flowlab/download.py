"""MNIST and Fashion-MNIST on first use: public mirrors in order, SHA-256 checked, cached, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from .idx import MNIST_FILES, find_idx_files

__all__ = ["CHECKSUMS", "MIRRORS", "DownloadError", "check_available", "download", "download_dir",
           "downloads_allowed", "locate"]

#: Where each set's four ``.gz`` files are served, tried in this order. MNIST: PyTorch's mirror
#: (torchvision), the Google Cloud copy TensorFlow Datasets reads, then Yann LeCun's original page
#: (often refuses scripts). Fashion-MNIST: Keras' copy, then Zalando's own bucket (torchvision, TFDS).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}

#: (size in bytes, SHA-256) of each published file, as TensorFlow Datasets records them
#: (url_checksums/mnist.txt, url_checksums/fashion_mnist.txt); Keras' fashion_mnist.py has the same sums.
CHECKSUMS: dict[str, dict[str, tuple[int, str]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte.gz": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte.gz": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte.gz": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte.gz": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte.gz": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte.gz": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    },
}

DOWNLOAD_ENV = "FLOWLAB_DOWNLOAD_DIR"
OFFLINE_ENV = "FLOWLAB_OFFLINE"
_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror gave a file whose size and SHA-256 match the published ones; the message says what to do."""


def download_dir(path: str | os.PathLike | None = None) -> Path:
    """Where downloads go: ``path``, else ``$FLOWLAB_DOWNLOAD_DIR``, else ``$XDG_CACHE_HOME/flowlab``,
    else ``~/.cache/flowlab``. Each dataset gets a folder of its own name in it (``mnist/``)."""
    if path is None:
        path = os.environ.get(DOWNLOAD_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "flowlab"
    return Path(path).expanduser()


def downloads_allowed() -> bool:
    """False when ``$FLOWLAB_OFFLINE`` is set to 1/true/yes: then flowlab only reads files already there."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def locate(name: str, data_dir=None, directory: str | os.PathLike | None = None, *,
           download_missing: bool | None = None, progress: bool = False) -> Path:
    """The folder holding ``name``'s four IDX files, downloading them into the cache if need be.

    Looks in ``data_dir`` (default ``./data/<name>``) first, then in ``download_dir(directory)/<name>``;
    ``.gz`` files there are checked against `CHECKSUMS` before use.

    Args:
        name: "mnist" or "fashion-mnist".
        data_dir: a folder the user keeps the files in; used when all four are there.
        directory: the download directory (see `download_dir`).
        download_missing: fetch missing files; None means "unless ``$FLOWLAB_OFFLINE`` is set".
        progress: show a tqdm bar per file while downloading.

    Raises:
        FileNotFoundError: files missing and downloading is off; the message says where to put them.
        DownloadError: no mirror worked (offline, blocked, or files that fail the checksum).
        ValueError: a file in the cache does not match its published SHA-256.
    """
    folder = _present(name, data_dir, directory)
    if folder is not None:
        if folder.parent == download_dir(directory):
            for path in folder.glob("*.gz"):
                _check_cached(name, path)
        return folder
    if download_missing is None:
        download_missing = downloads_allowed()
    if not download_missing:
        _raise_missing(name, data_dir, directory)
    return download(name, directory, progress=progress)


def check_available(name: str, data_dir=None, directory: str | os.PathLike | None = None) -> None:
    """Cheap check before a sweep writes anything: the files exist, or downloading is on (reads nothing)."""
    if _present(name, data_dir, directory) is None and not downloads_allowed():
        _raise_missing(name, data_dir, directory)


def _present(name, data_dir, directory):
    first = Path(data_dir if data_dir is not None else Path("data") / name).expanduser()
    for folder in (first, download_dir(directory) / name):
        if _complete(folder):
            return folder
    return None


def _raise_missing(name, data_dir, directory):
    first = Path(data_dir if data_dir is not None else Path("data") / name).expanduser()
    try:
        find_idx_files(name, first)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{exc} flowlab also looked in its download cache {(download_dir(directory) / name).resolve()}, where it "
            f"fetches the files itself unless ${OFFLINE_ENV} is set (it is); putting the files there works too."
        ) from None


def download(name: str, directory: str | os.PathLike | None = None, *, mirrors=None, checksums=None,
             progress: bool = True, timeout: float = 60.0) -> Path:
    """Downloads ``name``'s four ``.gz`` files into ``download_dir(directory)/<name>`` unless they are there.

    Each file is tried from each mirror in order. It is written to a temporary file beside its
    final name, its size and SHA-256 are checked, and only then is it renamed into place: an
    interrupted or corrupt transfer never leaves a file under the final name. Files already in
    the cache are checked, not fetched again.

    Args:
        name: "mnist" or "fashion-mnist".
        directory: the download directory (see `download_dir`).
        mirrors: base URLs to try in order (default ``MIRRORS[name]``).
        checksums: {file name: (size, sha256)} (default ``CHECKSUMS[name]``).
        progress: a tqdm bar per file.
        timeout: seconds without data before a mirror counts as failed.

    Returns:
        The folder that now holds the four files.

    Raises:
        DownloadError: a file could be had from no mirror; the message gives each mirror's error and
            says where to put the files by hand.
        ValueError: an unknown name, or a file in the cache that does not match its checksum.
    """
    if name not in CHECKSUMS:
        raise ValueError(f"download: no download for {name!r}; choose from {', '.join(CHECKSUMS)}")
    mirrors = tuple(MIRRORS[name] if mirrors is None else mirrors)
    checksums = dict(CHECKSUMS[name] if checksums is None else checksums)
    folder = download_dir(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(folder, checksums)
    for filename, (size, sha256) in checksums.items():
        target = folder / filename
        if target.is_file():
            _check_cached(name, target, checksums)
            continue
        failures = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + filename
            try:
                _fetch(url, target, size, sha256, timeout, progress)
                break
            except _MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
        else:
            raise DownloadError(_offline_message(name, filename, failures, mirrors, checksums, folder))
    return folder


class _MirrorFailed(Exception):
    pass


def _fetch(url, target, size, sha256, timeout, progress):
    import http.client  # here, not at the top: 20-30 ms of every sweep's start-up, needed only to download

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, _bar(progress, size, target.name) as bar:
            digest, written = hashlib.sha256(), 0
            with _open(url, timeout) as response:
                served = response.headers.get("Content-Length")
                if served is not None and size is not None and int(served) != size:
                    raise _MirrorFailed(f"serves {served} bytes, the published file has {size}")
                while True:
                    try:
                        chunk = response.read1(_CHUNK)  # what has arrived: the bar moves, Ctrl-C is prompt
                    except (http.client.HTTPException, OSError) as exc:  # dropped connection, reset, timeout
                        raise _MirrorFailed(f"transfer broke off after {written} bytes "
                                            f"({type(exc).__name__}: {exc})") from None
                    if not chunk:
                        break
                    out.write(chunk)  # a full disk is not the mirror's fault: OSError goes up as it is
                    digest.update(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                if served is not None and written < int(served):  # the server closed the connection early
                    raise _MirrorFailed(f"transfer broke off after {written} of {served} bytes")
            out.flush()
            os.fsync(out.fileno())
        if size is not None and written != size:
            raise _MirrorFailed(f"got {written} bytes, the published file has {size}")
        if digest.hexdigest() != sha256:
            raise _MirrorFailed(f"SHA-256 {digest.hexdigest()} does not match the published {sha256}")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _open(url, timeout):
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "flowlab"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _MirrorFailed(str(exc.reason)) from None
    except (http.client.HTTPException, OSError) as exc:
        raise _MirrorFailed(f"{type(exc).__name__}: {exc}") from None


def _remove_stale_parts(folder, checksums, age=3600):
    # A download killed outright (SIGKILL, power loss) leaves its temporary file; after an hour it is
    # no other process's live download either. Only flowlab's own ".<file>.<random>.part" names go.
    for filename in checksums:
        for part in folder.glob(f".{filename}.*.part"):
            try:
                if time.time() - part.stat().st_mtime > age:
                    part.unlink()
            except OSError:
                pass


def _bar(progress, size, name):
    from tqdm.auto import tqdm

    return tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=not progress,
                leave=False)


def _complete(folder):
    return all((folder / base).is_file() or (folder / f"{base}.gz").is_file() for base in MNIST_FILES)


def _check_cached(name, path, checksums=None):
    expected = (checksums if checksums is not None else CHECKSUMS.get(name, {})).get(path.name)
    if expected is None:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected[1]:
        # Not a file flowlab wrote (its downloads are checked before they get this name): leave it be.
        raise ValueError(f"{name}: {path} does not match the published SHA-256 ({digest.hexdigest()} instead of "
                         f"{expected[1]}); delete it and flowlab downloads it again, or replace it with a good copy")


def _offline_message(name, filename, failures, mirrors, checksums, folder):
    return (f"{name}: could not download {filename}: " + "; ".join(failures) + ". If this machine is offline or "
            f"the mirrors are blocked, download the files {', '.join(checksums)} by hand from "
            f"{' or '.join(mirrors)} and put them in {folder.resolve()} (or in any folder, and point data_dir= "
            f"(CLI: --data-dir) at it); `flowlab datasets --download {name}` tries again.")
