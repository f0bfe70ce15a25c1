"""Records of what made an output, and one writer per output folder."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from eventgnn._core.errors import LockedError, StaleOutputError
from eventgnn._core.provenance import check_record, differences, file_identity, lock, write_record


def test_record_matches_or_names_what_differs(tmp_path):
    rec = {"inputs": [{"path": "/a/events.root", "size": 10}], "options": {"process": "bkg"}}
    path = tmp_path / "x.json"
    assert not check_record(path, rec, "shard x", "use --overwrite")
    write_record(path, rec)
    assert check_record(path, rec, "shard x", "use --overwrite")
    other = {"inputs": [{"path": "/b/events.root", "size": 10}], "options": {"process": "sig"}}
    with pytest.raises(StaleOutputError, match=r"shard x .*options\.process: 'bkg' -> 'sig'.*"
                       r"use --overwrite"):  # fmt: skip
        check_record(path, other, "shard x", "use --overwrite")
    assert differences({"a": 1}, {"a": 1, "b": "x" * 500})[0].endswith("...")  # values cut


def test_file_identity_changes_when_the_file_does(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("one")
    a = file_identity(f)
    f.write_text("three")
    assert file_identity(f) != a and file_identity(f)["size"] == 5


def _hold(folder, ready, release):
    with lock(folder, "test job"):
        ready.set()
        release.wait(30)


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path / "out", ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        t0 = time.perf_counter()
        with pytest.raises(
            LockedError, match=rf"another test job is writing here \(pid {holder.pid}"
        ):
            with lock(tmp_path / "out", "test job"):
                pass
        assert time.perf_counter() - t0 < 5  # no waiting
    finally:
        release.set()
        holder.join(30)
    with lock(tmp_path / "out"):  # released when the holder ended
        pass


def test_a_killed_holder_leaves_no_lock(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path / "out", ready, release))
    holder.start()
    assert ready.wait(60)
    os.kill(holder.pid, 9)
    holder.join(30)
    with lock(tmp_path / "out"):
        pass
