"""Checkpoints: exact round trips, clear errors on damaged files, and crash safety.

The crash tests run a child process that saves a large checkpoint over a good one and is killed
with SIGKILL mid-save; the old checkpoint must still load with its original content, and the
temporary file the child leaves is removed by the next save or load, never while the child lives.
"""

from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import types
import zipfile

import numpy as np
import pytest

from framework import checkpoint
from framework.checkpoint import (
    FORMAT_NAME,
    FORMAT_VERSION,
    CheckpointError,
    CheckpointPermissionError,
    CheckpointWriteError,
    load_state,
    read_manifest,
    save_state,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model_state():
    rng = np.random.default_rng(0)
    return {
        "layer1.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "layer1.bias": np.zeros(4, np.float32),
        "bn.num_batches_tracked": np.array(7, np.int64),
        "mask": np.array([True, False, True]),
        "embedding": rng.standard_normal((2, 5)),
    }


def optimizer_state():
    return {
        "state": {0: {"step": np.array(3.0, np.float32), "exp_avg": np.full((4, 3), 0.5),
                      "exp_avg_sq": np.ones((4, 3))},
                  2: {"momentum_buffer": None}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "amsgrad": False,
                          "weight_decay": 0, "params": [0, 1, 2], "name": "encoder"}],
    }


def assert_same(loaded, expected):
    """Equal values *and* types, recursively (1 is not 1.0, a tuple is not a list)."""
    assert type(loaded) is type(expected), (loaded, expected)
    if isinstance(expected, np.ndarray):
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
        np.testing.assert_array_equal(loaded, expected)
    elif isinstance(expected, dict):
        assert list(loaded) == list(expected)
        assert [type(k) for k in loaded] == [type(k) for k in expected]
        for key in expected:
            assert_same(loaded[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(loaded) == len(expected)
        for a, b in zip(loaded, expected):
            assert_same(a, b)
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(loaded)
    else:
        assert loaded == expected


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [model_state, optimizer_state], ids=["model", "optimizer"])
@pytest.mark.parametrize("compress", [False, True], ids=["stored", "deflated"])
def test_round_trip(tmp_path, make, compress):
    path = tmp_path / "state.npz"
    save_state(make(), path, compress=compress)
    assert_same(load_state(path), make())


def test_round_trip_of_awkward_values(tmp_path):
    state = {
        "big_endian": np.arange(6, dtype=">f8").reshape(2, 3),
        "strided": np.arange(20.0)[::3],
        "transposed": np.arange(6, dtype=np.int32).reshape(2, 3).T,
        "empty": np.zeros((0, 4), np.float16),
        "zero_d": np.array(2.5),
        "numpy_scalar": np.float32(1.25),
        "numpy_int": np.int64(-3),
        "complex": np.array([1 + 2j], np.complex64),
        "floats": [float("nan"), float("inf"), -float("inf"), 0.1, -0.0, 1e-300],
        "numbers": [1, 1.0, True, None, 2**70],
        "text": "naïve ✓",
        "nested": {"a": [{"b": (1, [2, (3,)])}], "": "empty key"},
        "__array__": 5,  # keys that look like the format's own tags
        "tagged": {"__tuple__": [1, 2], 7: "int key", "7": "str key"},
    }
    path = tmp_path / "awkward.npz"
    save_state(state, path)
    loaded = load_state(path)
    expected = dict(state)
    expected["strided"] = np.ascontiguousarray(state["strided"])
    expected["transposed"] = np.ascontiguousarray(state["transposed"])
    assert_same(loaded, expected)
    assert type(loaded["numpy_scalar"]) is np.float32 and type(loaded["numpy_int"]) is np.int64
    assert np.signbit(loaded["floats"][4])


def test_the_file_is_an_npz_with_a_readable_manifest(tmp_path):
    path = tmp_path / "model.npz"
    save_state(model_state(), path)
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["arrays/0"], model_state()["layer1.weight"])
    manifest = read_manifest(path)
    assert manifest["format"] == FORMAT_NAME and manifest["version"] == FORMAT_VERSION
    first = manifest["arrays"][0]
    assert first["name"] == "layer1.weight" and first["dtype"] == "<f4"
    assert first["shape"] == [4, 3] and len(first["sha256"]) == 64
    with zipfile.ZipFile(path) as archive:
        raw = json.loads(archive.read("manifest.json"))
    assert raw["state"]["layer1.weight"] == {"__array__": 0}


def test_saving_the_same_state_twice_gives_the_same_bytes(tmp_path):
    save_state(optimizer_state(), tmp_path / "a.npz")
    save_state(optimizer_state(), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_file_mode_follows_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        save_state({"x": 1}, tmp_path / "m.npz")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("state, message", [
    ({"x": np.array([object()])}, "x: arrays of dtype object are not supported"),
    ({"x": {1, 2}}, "values of type set are not supported"),
    ({"x": {(1, 2): 3}}, "dict keys must be str or int, got tuple"),
    ({"x": {True: 3}}, "dict keys must be str or int, got bool"),
    ({"x": np.array(["a"])}, "dtype <U1 are not supported"),
])
def test_unsupported_values_fail_before_writing(tmp_path, state, message):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match=message):
        save_state(state, path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="expects a dict"):
        save_state([1, 2], path)


def test_save_into_a_missing_directory_or_onto_a_directory(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        save_state({"x": 1}, tmp_path / "missing" / "x.npz")
    (tmp_path / "folder").mkdir()
    with pytest.raises(CheckpointError, match="it is a directory"):
        save_state({"x": 1}, tmp_path / "folder")


def test_a_failed_save_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_state({"version": "old", "w": np.ones(3)}, path)
    original = checkpoint._write_array

    def failing_write(archive, member, array, compression):
        original(archive, member, array, compression)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write_array", failing_write)
    with pytest.raises(OSError, match="No space left") as info:
        save_state({"version": "new", "w": np.zeros(3)}, path)
    assert isinstance(info.value, CheckpointWriteError) and info.value.errno == errno.ENOSPC
    assert f"cannot save checkpoint {str(path)!r}: writing its temporary file" in str(info.value)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert load_state(path)["version"] == "old"


# -- damaged files -------------------------------------------------------------------------------


def rewrite_archive(source, target, *, manifest=None, members=None, drop=()):
    """Copy a checkpoint archive, replacing the manifest or members, or dropping members."""
    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if manifest is not None:
        contents["manifest.json"] = json.dumps(manifest).encode()
    contents.update(members or {})
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            if name not in drop:
                archive.writestr(name, data)


def saved(tmp_path):
    path = tmp_path / "good.npz"
    save_state(model_state(), path)
    return path


def check_error(path, *patterns):
    with pytest.raises(CheckpointError) as info:
        load_state(path)
    message = str(info.value)
    assert str(path) in message
    for pattern in patterns:
        assert pattern in message, message
    # No raw zipfile / numpy traceback chained under ours.
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return message


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -1], ids=lambda k: f"keep{k}")
def test_truncated_files(tmp_path, keep):
    path = saved(tmp_path)
    data = path.read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:size])
    check_error(path, "truncated or not a checkpoint")


def test_a_flipped_byte_in_array_data(tmp_path):
    path = saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the first array's values (the member is stored, not deflated)
    path.write_bytes(bytes(data))
    check_error(path, "(arrays/0.npy) is not a valid .npy array", "CRC")


def test_checksum_catches_data_changed_behind_the_zip_crc(tmp_path):
    path = saved(tmp_path)
    forged = tmp_path / "forged.npz"
    other = io.BytesIO()
    np.lib.format.write_array(other, model_state()["layer1.weight"] + 1)
    rewrite_archive(path, forged, members={"arrays/0.npy": other.getvalue()})
    check_error(forged, "array 'layer1.weight' fails its SHA-256 checksum")


@pytest.mark.parametrize("field, value, expected", [
    ("dtype", "<f8", "has dtype float32, but the manifest says float64"),
    ("shape", [3, 4], "has shape (4, 3), but the manifest says (3, 4)"),
    ("dtype", "|O", "unsupported dtype '|O'"),
    ("shape", [-1], "invalid shape [-1]"),
])
def test_manifest_and_array_disagree(tmp_path, field, value, expected):
    path = saved(tmp_path)
    manifest = read_manifest(path)
    manifest["arrays"][0][field] = value
    rewrite_archive(path, tmp_path / "bad.npz", manifest=manifest)
    check_error(tmp_path / "bad.npz", expected)


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.update(format="something-else"), "format is 'something-else'"),
    (lambda m: m.update(version=FORMAT_VERSION + 1), "newer than this program reads"),
    (lambda m: m.update(version="1"), "version '1' is not a positive int"),
    (lambda m: m.pop("state"), "lacks its 'arrays' list or its 'state'"),
    (lambda m: m["state"].update(extra={"__array__": 99}), "refers to array 99"),
    (lambda m: m["state"].update(extra={"__tuple__": 3}), "malformed __tuple__ entry"),
])
def test_bad_manifests(tmp_path, change, expected):
    path = saved(tmp_path)
    manifest = read_manifest(path)
    change(manifest)
    rewrite_archive(path, tmp_path / "bad.npz", manifest=manifest)
    check_error(tmp_path / "bad.npz", expected)


def test_missing_members_and_foreign_files(tmp_path):
    path = saved(tmp_path)
    rewrite_archive(path, tmp_path / "no_array.npz", drop=("arrays/1.npy",))
    check_error(tmp_path / "no_array.npz", "member 'arrays/1.npy' is missing")
    np.savez(tmp_path / "plain.npz", x=np.ones(2))
    check_error(tmp_path / "plain.npz", "member 'manifest.json' is missing")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    check_error(tmp_path / "notes.txt", "not a complete ZIP archive")
    rewrite_archive(path, tmp_path / "junk.npz", members={"manifest.json": b"{not json"})
    check_error(tmp_path / "junk.npz", "manifest is not valid JSON")
    rewrite_archive(path, tmp_path / "npy.npz", members={"arrays/0.npy": b"\x93NUMPY garbage"})
    check_error(tmp_path / "npy.npz", "'layer1.weight' (arrays/0.npy) is not a valid .npy array")
    with zipfile.ZipFile(path) as archive:
        padded = archive.read("arrays/0.npy") + b"xx"
    rewrite_archive(path, tmp_path / "padded.npz", members={"arrays/0.npy": padded})
    check_error(tmp_path / "padded.npz", "has 2 unexpected bytes after its data")
    rewrite_archive(path, tmp_path / "short.npz", members={"arrays/0.npy": padded[:-10]})
    check_error(tmp_path / "short.npz", "(arrays/0.npy) is truncated: 40 of 48 bytes of data")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_state(tmp_path / "absent.npz")


# -- crash safety --------------------------------------------------------------------------------

# The child saves `count` arrays of 1 MiB each over the checkpoint at argv[1]. With
# PAUSE_AT=write it pauses after writing the second array (a crash there is one in the middle of
# the write); with PAUSE_AT=replace, just before os.replace (the temporary file is complete). It
# goes on when a line arrives on its stdin, and prints "done" when its save has returned.
# With PAUSE_AT=none it saves two alternating states in a loop, printing after each save.
CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from framework import checkpoint

    path, pause_at, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def stop(where):
        print("paused", where, flush=True)
        sys.stdin.readline()

    original_write = checkpoint._write_array
    written = []

    def write_then_maybe_stop(archive, member, array, compression):
        original_write(archive, member, array, compression)
        written.append(member)
        if pause_at == "write" and len(written) == 2:
            archive.fp.flush()
            stop("write")

    original_replace = os.replace

    def replace_after_stop(source, target):
        if pause_at == "replace":
            stop("replace")
        original_replace(source, target)

    checkpoint._write_array = write_then_maybe_stop
    os.replace = replace_after_stop
    big = {f"w{i}": np.full(1 << 17, i, np.float64) for i in range(count)}
    if pause_at != "none":
        checkpoint.save_state({"label": "new", **big}, path)
        print("done", flush=True)
    else:
        for round_ in range(10**6):
            label = "even" if round_ % 2 == 0 else "odd"
            checkpoint.save_state({"label": label, **{k: v + round_ % 2 for k, v in big.items()}},
                                  path)
            print("saved", round_, flush=True)
""")


def start_child(path, pause_at, count):
    environment = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH",
                                                                              ""))
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), pause_at, str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment, cwd=REPO)


def kill(child):
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdin.close()
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def original_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    state = {"label": "old", "w": np.arange(1000, dtype=np.float32), "step": 41}
    save_state(state, path)
    return path, state


@pytest.mark.parametrize("pause_at", ["write", "replace"])
def test_a_save_killed_midway_leaves_the_old_checkpoint(tmp_path, pause_at):
    path, state = original_checkpoint(tmp_path)
    child = start_child(path, pause_at, count=8)
    try:
        line = child.stdout.readline()
        assert line == f"paused {pause_at}\n", line + child.stderr.read()
        temporaries = [name for name in os.listdir(tmp_path) if name != "model.npz"]
        assert len(temporaries) == 1
        temporary = tmp_path / temporaries[0]
        assert temporary.name.startswith(".model.npz.") and temporary.name.endswith(".tmp")
        assert temporary.stat().st_size > 2 * 8 * (1 << 17)  # two arrays already written
    finally:
        kill(child)

    # The leftover is never taken for the checkpoint: it has its own name, and a save killed
    # mid-write left an incomplete archive that does not load.
    assert temporary.exists() and not temporary.name.endswith(".npz")
    if pause_at == "write":
        check_error(temporary, "truncated or not a checkpoint")
    else:
        assert load_state(temporary)["label"] == "new"
    assert_same(load_state(path), state)
    assert not temporary.exists()  # the load removed it: its writer is dead
    # Saving again works and replaces the old checkpoint.
    save_state({"label": "newer"}, path)
    assert load_state(path) == {"label": "newer"}


def test_a_save_killed_at_any_moment_leaves_one_complete_checkpoint(tmp_path):
    path, _ = original_checkpoint(tmp_path)
    child = start_child(path, "none", count=4)
    try:
        for _ in range(3):  # let it overwrite the checkpoint a few times
            line = child.stdout.readline()
            assert line.startswith("saved"), line + child.stderr.read()
        time.sleep(0.005)  # then kill it somewhere inside a later save
    finally:
        kill(child)
    state = load_state(path)
    assert state["label"] in ("even", "odd")
    offset = 0 if state["label"] == "even" else 1
    for i in range(4):
        np.testing.assert_array_equal(state[f"w{i}"], np.full(1 << 17, i + offset, np.float64))


# -- temporary files left by killed saves --------------------------------------------------------


def paused_child(path, pause_at):
    """A child paused mid-save of `path`, and the temporary file it is writing."""
    child = start_child(path, pause_at, count=8)
    line = child.stdout.readline()
    if line != f"paused {pause_at}\n":
        kill(child)
        pytest.fail(line + child.stderr.read())
    directory = os.path.dirname(path)
    (name,) = [name for name in os.listdir(directory) if name.startswith(f".{path.name}.")]
    return child, os.path.join(directory, name)


@pytest.mark.parametrize("next_call", ["save", "load"])
@pytest.mark.parametrize("pause_at", ["write", "replace"])
def test_a_killed_save_leaves_a_temporary_file_the_next_call_removes(tmp_path, pause_at,
                                                                     next_call):
    path, state = original_checkpoint(tmp_path)
    child, first = paused_child(path, pause_at)
    kill(child)
    assert os.path.exists(first)
    child, temporary = paused_child(path, pause_at)  # a save killed again, after a restart
    kill(child)
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(temporary), "model.npz"]
    if next_call == "save":  # of another checkpoint, in the same directory
        save_state({"x": 1}, tmp_path / "other.npz")
        assert sorted(os.listdir(tmp_path)) == ["model.npz", "other.npz"]
    else:
        assert_same(load_state(path), state)
        assert os.listdir(tmp_path) == ["model.npz"]
    assert_same(load_state(path), state)


@pytest.mark.parametrize("pause_at", ["write", "replace"])
def test_a_live_writers_temporary_file_is_never_removed(tmp_path, pause_at):
    path, _ = original_checkpoint(tmp_path)
    child, temporary = paused_child(path, pause_at)
    try:
        save_state({"label": "meanwhile"}, path)
        save_state({"x": 1}, tmp_path / "other.npz")
        assert load_state(path) == {"label": "meanwhile"}
        assert os.path.exists(temporary)
        # The paused writer goes on and finishes its save.
        child.stdin.write("\n")
        child.stdin.flush()
        line = child.stdout.readline()
        assert line == "done\n", line + child.stderr.read()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            kill(child)
    child.stdin.close()
    child.stdout.close()
    child.stderr.close()
    assert load_state(path)["label"] == "new"
    assert sorted(os.listdir(tmp_path)) == ["model.npz", "other.npz"]


def abandoned(directory, name, content=b"PK\x03\x04 a partial archive"):
    (directory / name).write_bytes(content)
    return name


def test_only_unlocked_temporary_files_named_like_ours_are_removed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "target.npz"
    target.write_bytes(b"PK\x03\x04 someone's file")
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    # No process holds their lock, whatever pid their names hold (a live one here: pids are
    # reused, so a pid says nothing about the writer).
    removed = [abandoned(directory, f".model.npz.{os.getpid()}.0123abcd.tmp"),
               abandoned(directory, ".other.npz.1.89abcdef.tmp"),
               abandoned(directory, ".a.b.npz.123.00ff00ff.tmp", b""),  # killed right away
               abandoned(directory, ".model.npz.5.0123abcd.tmp.9.ffffffff.tmp")]
    kept = [abandoned(directory, ".model.npz.tmp"),
            abandoned(directory, ".model.npz.12.0123ABCD.tmp"),
            abandoned(directory, ".model.npz.12.0123abc.tmp"),
            abandoned(directory, ".model.npz.x12.0123abcd.tmp"),
            abandoned(directory, "model.npz.12.0123abcd.tmp"),
            abandoned(directory, ".model.npz.12.0123abcd.tmp.bak"),
            abandoned(directory, ".notes.12.0123abcd.tmp", b"not an archive")]
    (directory / ".folder.12.0123abcd.tmp").mkdir()
    os.symlink(target, directory / ".link.12.0123abcd.tmp")
    os.mkfifo(directory / ".fifo.12.0123abcd.tmp")
    kept += [".folder.12.0123abcd.tmp", ".link.12.0123abcd.tmp", ".fifo.12.0123abcd.tmp"]
    save_state({"x": 1}, directory / "model.npz")
    assert sorted(os.listdir(directory)) == sorted(kept + ["model.npz"])
    assert target.read_bytes() == b"PK\x03\x04 someone's file"
    for name in removed:
        assert not (directory / name).exists()


def test_a_temporary_file_locked_by_another_process_is_kept(tmp_path):
    name = abandoned(tmp_path, ".model.npz.77.0123abcd.tmp")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys\n"
         "f = open(sys.argv[1], 'rb+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); sys.stdin.readline()", str(tmp_path / name)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        save_state({"x": 1}, tmp_path / "model.npz")
        load_state(tmp_path / "model.npz")
        assert sorted(os.listdir(tmp_path)) == [name, "model.npz"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    load_state(tmp_path / "model.npz")  # its holder has let go
    assert os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("how", ["removed", "locked_then_removed"])
def test_a_clean_up_that_takes_a_new_temporary_file_before_its_lock_does_no_harm(
        tmp_path, monkeypatch, how):
    # Another process's clean-up can find a temporary file in the instant between its creation
    # and its lock, and remove it; the save must notice and write through a new one.
    real_open, taken, holders = os.open, [], []

    def open_then_take(file, flags, *args, **kwargs):
        descriptor = real_open(file, flags, *args, **kwargs)
        if flags & os.O_EXCL and not taken:
            taken.append(file)
            if how == "locked_then_removed":  # a clean-up still holding the lock
                holder = real_open(file, os.O_RDWR)
                fcntl.flock(holder, fcntl.LOCK_EX)
                holders.append(holder)
            os.remove(file)
        return descriptor

    monkeypatch.setattr(os, "open", open_then_take)
    try:
        save_state({"w": np.arange(4.0)}, tmp_path / "model.npz")
    finally:
        for holder in holders:
            os.close(holder)
    monkeypatch.undo()
    assert len(taken) == 1
    assert load_state(tmp_path / "model.npz")["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_save_never_removes_a_temporary_file_this_process_is_writing(tmp_path, monkeypatch):
    # Where flock is emulated with per-process locks (NFS), a lock taken in this process does not
    # stop a clean-up in this process; simulate that, and save from inside another save.
    monkeypatch.setattr(checkpoint, "fcntl", types.SimpleNamespace(
        LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB, flock=lambda descriptor, operation: None))
    original, seen_by_inner_save = checkpoint._write_array, []

    def write_and_save_beside(archive, member, array, compression):
        original(archive, member, array, compression)
        if not seen_by_inner_save:
            abandoned(tmp_path, ".old.npz.3.0123abcd.tmp")  # one to remove
            seen_by_inner_save.append(sorted(os.listdir(tmp_path)))
            save_state({"x": 1}, tmp_path / "inner.npz")

    monkeypatch.setattr(checkpoint, "_write_array", write_and_save_beside)
    save_state({"w": np.ones(3)}, tmp_path / "outer.npz")
    monkeypatch.undo()
    (stale, outer_temporary) = seen_by_inner_save[0]
    assert outer_temporary.startswith(".outer.npz.") and stale == ".old.npz.3.0123abcd.tmp"
    assert load_state(tmp_path / "outer.npz")["w"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ["inner.npz", "outer.npz"]


def test_threads_saving_and_loading_in_one_directory(tmp_path):
    stale = abandoned(tmp_path, ".old.npz.3.0123abcd.tmp")
    errors = []

    def work(index):
        path = tmp_path / f"model{index}.npz"
        try:
            for step in range(15):
                save_state({"w": np.full(50_000, step + index), "step": step}, path)
                state = load_state(path)
                assert state["step"] == step and state["w"][0] == step + index
        except BaseException as error:  # reported below, with the thread's result
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not (tmp_path / stale).exists()
    assert sorted(os.listdir(tmp_path)) == ["model0.npz", "model1.npz", "model2.npz"]


# -- saves the file system refuses ---------------------------------------------------------------


def check_refused(error_info, path, *patterns):
    message = str(error_info.value)
    assert f"cannot save checkpoint {str(path)!r}" in message, message
    for pattern in patterns:
        assert pattern in message, message
    assert "test_checkpoint.py" in message  # the user's line
    error = error_info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_refused_move_names_the_checkpoint_and_keeps_the_old_one(tmp_path, monkeypatch):
    path, state = original_checkpoint(tmp_path)

    def refuse(source, target):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(CheckpointPermissionError) as info:
        save_state({"label": "new"}, path)
    monkeypatch.undo()
    check_refused(info, path, "the new file could not be moved onto it (Operation not permitted)")
    assert isinstance(info.value, PermissionError) and isinstance(info.value, CheckpointError)
    assert info.value.errno == errno.EPERM
    assert os.listdir(tmp_path) == ["model.npz"]
    assert_same(load_state(path), state)


def test_a_temporary_file_that_cannot_be_created(tmp_path, monkeypatch):
    real_open = os.open

    def read_only_file_system(file, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_file_system)
    with pytest.raises(CheckpointWriteError) as info:
        save_state({"x": 1}, tmp_path / "model.npz")
    monkeypatch.undo()
    check_refused(info, tmp_path / "model.npz", "cannot create a temporary file in directory "
                  f"{str(tmp_path)!r} (Read-only file system)")
    assert isinstance(info.value, OSError) and not isinstance(info.value, PermissionError)
    assert info.value.errno == errno.EROFS
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("denied, expected", [
    ("file", "the existing file is read-only"),
    ("directory", "is not writable"),
])
def test_write_permission_is_checked_before_writing(tmp_path, monkeypatch, denied, expected):
    # Root may write anything, so a lack of permission is simulated here; the test below runs
    # the same saves with real permissions.
    path, state = original_checkpoint(tmp_path)
    refused = str(path) if denied == "file" else str(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda file, mode, **kwargs: not (
        os.fspath(file) == refused and mode & os.W_OK) and real_access(file, mode, **kwargs))
    written = []
    monkeypatch.setattr(checkpoint, "_write_array", lambda *args: written.append(args))
    with pytest.raises(CheckpointPermissionError) as info:
        save_state({"w": np.ones(2)}, path)
    monkeypatch.undo()
    check_refused(info, path, expected)
    assert written == [] and os.listdir(tmp_path) == ["model.npz"]
    assert_same(load_state(path), state)


# Saves into places that permissions close, run in a child process that permission bits bind:
# as root, one without the capabilities that override them (setpriv drops them).
PERMISSION_CHILD = textwrap.dedent("""
    import json, sys
    from framework.checkpoint import save_state

    results = {}
    for path in sys.argv[1:]:
        try:
            save_state({"label": "new"}, path)
            results[path] = ["saved", ""]
        except Exception as error:
            results[path] = [[c.__name__ for c in type(error).__mro__], str(error)]
    print(json.dumps(results))
""")


def run_without_permission_overrides(paths):
    command = [sys.executable, "-c", PERMISSION_CHILD, *map(str, paths)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop the permission overrides")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--",
                   *command]
    environment = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH",
                                                                              ""))
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO,
                            timeout=120)
    if result.returncode != 0 and "setpriv" in result.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_saves_that_permissions_refuse(tmp_path):
    read_only_file, state = original_checkpoint(tmp_path)
    read_only_directory, closed = tmp_path / "read_only", tmp_path / "closed"
    read_only_directory.mkdir()
    (closed / "inner").mkdir(parents=True)
    save_state({"label": "old"}, read_only_directory / "model.npz")
    cases = {
        read_only_file: "the existing file is read-only (no write permission), so it is not "
                        "replaced",
        read_only_directory / "model.npz": f"directory {str(read_only_directory)!r} is not "
                                           "writable",
        closed / "model.npz": f"directory {str(closed)!r} cannot be entered (no search "
                              "permission)",
        closed / "inner" / "model.npz": f"directory {str(closed / 'inner')!r} cannot be reached "
                                        "(permission denied on a directory above it)",
    }
    os.chmod(read_only_file, 0o444)
    os.chmod(read_only_directory, 0o555)
    os.chmod(closed, 0)
    try:
        results = run_without_permission_overrides(cases)
    finally:
        os.chmod(closed, 0o755)
        os.chmod(read_only_directory, 0o755)
    for path, cause in cases.items():
        classes, message = results[str(path)]
        assert "CheckpointPermissionError" in classes and "PermissionError" in classes, message
        assert message.startswith(f"cannot save checkpoint {str(path)!r}: {cause}"), message
    assert_same(load_state(read_only_file), state)
    assert stat.S_IMODE(os.stat(read_only_file).st_mode) == 0o444
    assert load_state(read_only_directory / "model.npz") == {"label": "old"}
    assert sorted(os.listdir(read_only_directory)) == ["model.npz"]
    assert sorted(os.listdir(closed)) == ["inner"] and os.listdir(closed / "inner") == []
