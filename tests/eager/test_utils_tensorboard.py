"""eager.utils.tensorboard.SummaryWriter: event files that TensorBoard's own reader reads back.

The writer goes through tensorboardX; the reader here is TensorBoard's `EventAccumulator`, a
separate implementation of the format, so a file it cannot read fails these tests.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import eager as torch
from eager import nn
from eager.utils.tensorboard import SummaryWriter
from framework.errors import DualgraphError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(log_dir) -> EventAccumulator:
    """Everything TensorBoard reads from one run directory (no sampling: keep every event)."""
    accumulator = EventAccumulator(str(log_dir), size_guidance={
        "scalars": 0, "histograms": 0, "tensors": 0, "graph": 0})
    return accumulator.Reload()


def scalars(log_dir, tag) -> list:
    return [(event.step, event.value) for event in read(log_dir).Scalars(tag)]


def event_files(log_dir) -> list:
    return sorted(name for name in os.listdir(log_dir) if name.startswith("events.out.tfevents"))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.head = nn.Sequential(nn.Linear(4, 2), nn.ReLU())

    def forward(self, x):
        return self.head(torch.tanh(self.fc1(x)))


# -- scalars ---------------------------------------------------------------------------------


def test_add_scalar_takes_numbers_one_element_tensors_and_numpy_scalars(tmp_path):
    values = [2, 0.5, True, torch.tensor(1.25), torch.tensor([3.5], requires_grad=True),
              np.float32(-4.0), np.array([[6.0]]), np.int64(7), [8.0]]
    with SummaryWriter(tmp_path) as writer:
        for step, value in enumerate(values):
            writer.add_scalar("loss", value, global_step=np.int64(step) if step % 2 else step)
    assert scalars(tmp_path, "loss") == [(0, 2.0), (1, 0.5), (2, 1.0), (3, 1.25), (4, 3.5),
                                         (5, -4.0), (6, 6.0), (7, 7.0), (8, 8.0)]


def test_add_scalar_keeps_walltime_and_whole_float_steps(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("lr", 0.1, global_step=3.0, walltime=1234.5)
        writer.add_scalar("lr", 0.2, global_step=torch.tensor(4))
    events = read(tmp_path).Scalars("lr")
    assert [(e.step, e.wall_time) for e in events][0] == (3, 1234.5)
    assert events[1].step == 4 and events[1].value == pytest.approx(0.2)


def test_add_scalars_writes_one_run_per_key_under_the_main_tag(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalars("loss/all", {"train": step, "test": 10 + step}, step)
    assert scalars(tmp_path / "loss_all_train", "loss/all") == [(0, 0.0), (1, 1.0), (2, 2.0)]
    assert scalars(tmp_path / "loss_all_test", "loss/all") == [(0, 10.0), (1, 11.0), (2, 12.0)]
    assert read(tmp_path).Tags()["scalars"] == []   # nothing in the main run itself


# -- histograms and text ---------------------------------------------------------------------


def test_add_histogram_summarises_the_values_with_explicit_bins(tmp_path):
    values = torch.tensor([[0.0, 1.0, 1.0], [2.0, 5.0, 5.0]])
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("weights", values, global_step=7, bins=[0.0, 1.0, 2.0, 6.0])
    event = read(tmp_path).Histograms("weights")[0]
    histogram = event.histogram_value
    assert event.step == 7
    assert (histogram.min, histogram.max, histogram.num) == (0.0, 5.0, 6)
    assert (histogram.sum, histogram.sum_squares) == (14.0, 56.0)
    # numpy's bins [0, 1), [1, 2), [2, 6]: TensorBoard keeps right limits, with an empty bin
    # first so the leftmost limit is there too
    assert list(histogram.bucket_limit) == [0.0, 1.0, 2.0, 6.0]
    assert list(histogram.bucket) == [0.0, 1.0, 2.0, 3.0]


def test_add_histogram_uses_tensorboards_default_buckets(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("acts", torch.tensor(values), 0)
        writer.add_histogram("acts", values, 1, bins=20, max_bins=10)
        bins = writer.default_bins
    assert bins[len(bins) // 2] == 0 and bins[len(bins) // 2 + 1] == 1e-12
    assert bins[-1] < 1e20 <= bins[-1] * 1.1 and bins[0] == -bins[-1]
    default, coarse = [e.histogram_value for e in read(tmp_path).Histograms("acts")]
    assert default.num == coarse.num == 1000 and sum(default.bucket) == 1000
    assert set(default.bucket_limit) <= set(bins)
    assert sum(coarse.bucket) == 1000 and len(coarse.bucket) <= 11
    assert default.min == pytest.approx(values.min()) and default.max == pytest.approx(values.max())


def test_add_text_is_read_back_by_the_text_plugin(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "lr = **0.1**", global_step=2)
    events = read(tmp_path).Tensors("notes/text_summary")
    assert [(e.step, e.tensor_proto.string_val[0].decode()) for e in events] == [
        (2, "lr = **0.1**")]
    plugin = read(tmp_path).SummaryMetadata("notes/text_summary").plugin_data.plugin_name
    assert plugin == "text"


# -- the graph -------------------------------------------------------------------------------


def test_add_graph_writes_the_recorded_forward_pass_named_by_module_path(tmp_path):
    model = Net()
    with SummaryWriter(tmp_path) as writer, torch.no_grad():  # the pass records anyway
        writer.add_graph(model, torch.ones(5, 3))
    accumulator = read(tmp_path)
    assert accumulator.Tags()["graph"]
    nodes = {node.name: node for node in accumulator.Graph().node}
    assert {name: node.op for name, node in nodes.items()} == {
        "input/tensor": "IO Node",
        "Net/Linear[fc1]/weight": "Parameter",
        "Net/Linear[fc1]/bias": "Parameter",
        "Net/Linear[fc1]/linear": "linear",
        "Net/tanh": "tanh",
        "Net/Sequential[head]/Linear[0]/weight": "Parameter",
        "Net/Sequential[head]/Linear[0]/bias": "Parameter",
        "Net/Sequential[head]/Linear[0]/linear": "linear",
        "Net/Sequential[head]/ReLU[1]/relu": "relu",
        "output/output": "IO Node",
    }
    assert list(nodes["Net/Linear[fc1]/linear"].input) == [
        "input/tensor", "Net/Linear[fc1]/weight", "Net/Linear[fc1]/bias"]
    assert list(nodes["Net/tanh"].input) == ["Net/Linear[fc1]/linear"]
    assert list(nodes["output/output"].input) == ["Net/Sequential[head]/ReLU[1]/relu"]

    def shapes(name):
        listed = nodes[name].attr["_output_shapes"].list.shape
        return [[dim.size for dim in shape.dim] for shape in listed]

    assert shapes("input/tensor") == [[5, 3]]
    assert shapes("Net/Linear[fc1]/weight") == [[4, 3]]
    assert shapes("Net/tanh") == [[5, 4]]
    assert shapes("output/output") == [[5, 2]]
    assert nodes["Net/tanh"].attr["dtype"].type == 1  # DT_FLOAT
    assert "test_utils_tensorboard.py" in nodes["Net/tanh"].attr["site"].s.decode()


def test_add_graph_takes_several_inputs_and_outputs_and_shows_the_branch_taken(tmp_path):
    class TwoWays(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(2))

        def forward(self, x, y):
            if x.sum().item() > 0:
                return x * self.scale, y + self.scale
            return (x - self.scale,)

    with SummaryWriter(tmp_path / "pos") as writer:
        writer.add_graph(TwoWays(), (torch.ones(2), torch.zeros(2)))
    with SummaryWriter(tmp_path / "neg") as writer:
        writer.add_graph(TwoWays(), [-torch.ones(2), torch.zeros(2)])
    positive = {n.name: n.op for n in read(tmp_path / "pos").Graph().node}
    negative = {n.name: n.op for n in read(tmp_path / "neg").Graph().node}
    assert positive["TwoWays/mul"] == "mul" and positive["TwoWays/add"] == "add"
    assert {"output/output_0", "output/output_1"} <= set(positive)
    assert "TwoWays/sub" in negative and "TwoWays/mul" not in negative
    assert positive["TwoWays/scale"] == "Parameter"


def test_add_graph_refuses_what_records_no_graph(tmp_path):
    frozen = nn.Linear(3, 2)
    frozen.requires_grad_(False)
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="recorded no graph") as error:
            writer.add_graph(frozen, torch.ones(1, 3))
        assert isinstance(error.value, DualgraphError)
        assert "test_utils_tensorboard.py" in str(error.value)
        with pytest.raises(TypeError, match="eager.nn.Module"):
            writer.add_graph(lambda x: x, torch.ones(1, 3))

        class Dicts(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 2)

            def forward(self, x):
                return {"out": self.fc(x)}

        with pytest.raises(TypeError, match="returned a dict"):
            writer.add_graph(Dicts(), torch.ones(1, 3))
    assert not read(tmp_path).Tags()["graph"]


# -- files, flushing, purging, the run directory ---------------------------------------------


def test_flush_puts_every_pending_event_on_disk_without_closing(tmp_path):
    writer = SummaryWriter(tmp_path, max_queue=1000, flush_secs=1000)
    for step in range(25):
        writer.add_scalar("loss", step, step)
    writer.flush()
    assert [step for step, _ in scalars(tmp_path, "loss")] == list(range(25))
    writer.close()


def test_max_queue_and_flush_secs_bound_how_long_events_wait(tmp_path):
    by_count = SummaryWriter(tmp_path / "count", max_queue=3, flush_secs=1000)
    for step in range(3):
        by_count.add_scalar("x", step, step)
    assert len(scalars(tmp_path / "count", "x")) == 3
    by_time = SummaryWriter(tmp_path / "time", max_queue=1000, flush_secs=0.2)
    by_time.add_scalar("x", 1.0, 0)
    deadline = time.monotonic() + 10
    while not read(tmp_path / "time").Tags()["scalars"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scalars(tmp_path / "time", "x") == [(0, 1.0)]
    by_count.close()
    by_time.close()


def test_a_script_that_never_closes_its_writer_still_leaves_its_events(tmp_path):
    script = ("from eager.utils.tensorboard import SummaryWriter\n"
              f"writer = SummaryWriter({str(tmp_path)!r})\n"
              "for step in range(5):\n"
              "    writer.add_scalar('loss', step / 2, step)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd=ROOT,
                   env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    assert scalars(tmp_path, "loss") == [(step, step / 2) for step in range(5)]


def test_writing_after_close_starts_a_new_file_and_keeps_the_first(tmp_path):
    writer = SummaryWriter(tmp_path)
    writer.add_scalar("loss", 1.0, 0)
    writer.close()
    writer.close()                     # twice is harmless
    writer.add_scalar("loss", 2.0, 1)  # in the same second: the first file must survive
    writer.close()
    assert len(event_files(tmp_path)) == 2
    assert scalars(tmp_path, "loss") == [(0, 1.0), (1, 2.0)]


def test_filename_suffix_ends_every_event_file(tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".exp1") as writer:
        writer.add_scalars("loss", {"a": 1.0}, 0)
    assert [name.endswith(".exp1") for name in event_files(tmp_path)] == [True]
    assert [name.endswith(".exp1") for name in event_files(tmp_path / "loss_a")] == [True]


def test_purge_step_hides_the_crashed_runs_later_events(tmp_path):
    with SummaryWriter(tmp_path) as crashed:
        for step in range(10):
            crashed.add_scalar("loss", step, step)
    with SummaryWriter(tmp_path, purge_step=5) as resumed:
        for step in range(5, 8):
            resumed.add_scalar("loss", 100 + step, step)
    assert scalars(tmp_path, "loss") == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0),
                                         (5, 105.0), (6, 106.0), (7, 107.0)]


def test_default_log_dir_is_runs_datetime_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_lr0.1")
    writer.close()
    pattern = (r"runs[/\\][A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_"
               + re.escape(socket.gethostname()) + r"_lr0\.1")
    assert re.fullmatch(pattern, writer.log_dir) and writer.get_logdir() == writer.log_dir
    assert event_files(tmp_path / writer.log_dir)  # created at once, as PyTorch does
    given = SummaryWriter(tmp_path / "exp", comment="ignored")
    given.close()
    assert given.log_dir == str(tmp_path / "exp") and os.listdir(tmp_path / "runs") == [
        os.path.basename(writer.log_dir)]


def test_threads_logging_to_one_writer_lose_and_corrupt_nothing(tmp_path):
    writer = SummaryWriter(tmp_path, max_queue=7)

    def log(worker):
        for step in range(40):
            writer.add_scalar(f"w{worker}", worker * 1000 + step, step)
            writer.add_histogram(f"h{worker}", np.arange(step + 1.0), step)

    threads = [threading.Thread(target=log, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    accumulator = read(tmp_path)
    for k in range(4):
        assert [(e.step, e.value) for e in accumulator.Scalars(f"w{k}")] == [
            (step, k * 1000.0 + step) for step in range(40)]
        assert [e.histogram_value.num for e in accumulator.Histograms(f"h{k}")] == [
            step + 1.0 for step in range(40)]


def test_import_eager_does_not_import_the_writer_library():
    code = "import sys, eager; print(any('tensorboard' in name for name in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


# -- refused input: a clear error, and nothing written ---------------------------------------


@pytest.mark.parametrize("value, error, message", [
    (torch.ones(3), AssertionError, r"one number; it has 3 \(shape \(3,\)\)"),
    (np.zeros((2, 2)), ValueError, r"it has 4 \(shape \(2, 2\)\)"),
    (torch.ones(0), AssertionError, r"it has 0"),
    (None, NotImplementedError, "is a NoneType"),
    ("0.5", TypeError, "is a str"),
    ({"a": 1}, TypeError, "is a dict"),
    (np.array([1 + 2j]), TypeError, "dtype complex128"),
    ([[1.0], [2.0, 3.0]], ValueError, "not a rectangular array"),
])
def test_add_scalar_refuses_values_that_are_not_one_number(tmp_path, value, error, message):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(error, match=message) as raised:
            writer.add_scalar("loss", value, 0)
        writer.add_scalar("other", 1.0, 0)
    assert isinstance(raised.value, DualgraphError)
    assert "test_utils_tensorboard.py" in str(raised.value)  # the user's line
    assert read(tmp_path).Tags()["scalars"] == ["other"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"global_step": 1.5}, ValueError, "whole number, got 1.5"),
    ({"global_step": "3"}, TypeError, "global_step should be an int"),
    ({"global_step": 2**63}, ValueError, "does not fit in 64 bits"),
    ({"walltime": "now"}, TypeError, "walltime should be seconds"),
    ({"walltime": float("nan")}, ValueError, "walltime should be finite"),
])
def test_steps_and_walltimes_are_checked(tmp_path, kwargs, error, message):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(error, match=message):
            writer.add_scalar("loss", 1.0, **kwargs)
        with pytest.raises(TypeError, match="tag should be a str"):
            writer.add_scalar(3, 1.0)
    assert read(tmp_path).Tags()["scalars"] == []


def test_add_scalars_writes_nothing_when_one_value_is_refused(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(AssertionError, match=r"tag_scalar_dict\['b'\]"):
            writer.add_scalars("loss", {"a": 1.0, "b": torch.ones(2), "c": 3.0}, 0)
        with pytest.raises(TypeError, match="a dict of tag -> number"):
            writer.add_scalars("loss", [("a", 1.0)], 0)
    assert not (tmp_path / "loss_a").exists() and not (tmp_path / "loss_c").exists()


@pytest.mark.parametrize("values, bins, message", [
    (torch.ones(0), "tensorflow", "the input has no element"),
    (torch.tensor([1.0, float("nan")]), "tensorflow", "values must be finite; found nan"),
    (np.array([1.0, np.inf]), 10, "values must be finite; found inf"),
    (torch.ones(3), "bogus", "unknown bins 'bogus'"),
    (torch.ones(3), 0, "bins should be >= 1"),
    (torch.ones(3), [0.0, 2.0, 1.0], "strictly increasing"),
    (torch.ones(3), [[0.0, 1.0]], "1-D sequence"),
])
def test_add_histogram_refuses_what_numpy_cannot_bin(tmp_path, values, bins, message):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match=message):
            writer.add_histogram("h", values, 0, bins=bins)
    assert read(tmp_path).Tags()["histograms"] == []


def test_add_text_and_the_constructor_check_their_arguments(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(TypeError, match="text_string should be a str"):
            writer.add_text("notes", 3)
    assert read(tmp_path).Tags()["tensors"] == []
    for kwargs, error in [({"max_queue": 0}, ValueError), ({"flush_secs": -1}, ValueError),
                          ({"purge_step": -1}, ValueError), ({"comment": 3}, TypeError),
                          ({"log_dir": 3}, TypeError), ({"max_queue": 2.5}, TypeError)]:
        with pytest.raises(error):
            SummaryWriter(**{"log_dir": tmp_path / "refused", **kwargs})
    assert not (tmp_path / "refused").exists()
