"""flowlab.atomic: a file written atomically is the old one or the new one, never half, and has the
permissions any other file of the user's would have."""

import os
import stat
import threading

import pytest

from flowlab.atomic import write_atomic


def test_writes_and_replaces_a_file(tmp_path):
    path = tmp_path / "run.json"
    write_atomic(path, b"first")
    assert path.read_bytes() == b"first"
    write_atomic(str(path), b"second")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # no temporary file left behind


def test_permissions_are_those_of_a_file_opened_plainly(tmp_path):
    # the oracle is open(): what the process umask gives any new file (mkstemp alone would give 0600)
    with open(tmp_path / "plain", "wb"):
        pass
    write_atomic(tmp_path / "atomic", b"x")
    assert stat.S_IMODE((tmp_path / "atomic").stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes(b"old,rows\n")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # fails inside the write, after the temporary file exists
    assert path.read_bytes() == b"old,rows\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_a_reader_sees_the_old_file_or_the_new_one_never_half(tmp_path):
    # A plain open(path, "wb").write() lets a reader in between see an empty or a short file.
    path = tmp_path / "table.txt"
    size = 1 << 20
    versions = [bytes([c]) * size for c in b"ab"]
    write_atomic(path, versions[0])
    seen, bad, done = set(), [], threading.Event()

    def read():
        while not done.is_set():
            with open(path, "rb") as f:
                data = f.read()
            if data not in versions:
                bad.append(len(data))
            seen.add(data[:1])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(60):
            write_atomic(path, versions[i % 2])
    finally:
        done.set()
        reader.join()
    assert not bad, f"a reader saw partial files of {bad[:5]} bytes"
    assert os.path.getsize(path) == size
