"""tf.summary on the graph front-end: summary ops evaluate to serialized Summary bytes, and
FileWriter's event files read back with TensorBoard's own reader (`EventAccumulator`, a separate
implementation of the format, as tests/eager/test_utils_tensorboard.py reads eager's)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboardX.proto.summary_pb2 import Summary

import graph as tf

SUMMARIES = "summaries"  # tf.GraphKeys.SUMMARIES


def read(log_dir) -> EventAccumulator:
    """Everything TensorBoard reads from one run directory (no sampling: keep every event)."""
    accumulator = EventAccumulator(str(log_dir), size_guidance={
        "scalars": 0, "histograms": 0, "tensors": 0, "graph": 0})
    return accumulator.Reload()


def event_files(log_dir) -> list:
    return sorted(name for name in os.listdir(log_dir) if name.startswith("events.out.tfevents"))


def test_a_summary_op_evaluates_to_serialized_summary_bytes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, ())
        loss = tf.summary.scalar("loss", x * 2.0)
        steps = tf.summary.scalar("steps", tf.constant(7, tf.int64))
        weights = tf.summary.histogram("weights", tf.constant([[1.0, 2.0], [2.0, 5.0]]))
        assert loss.shape == () and loss.op.type == "ScalarSummary"
        with tf.Session() as sess:
            data, step_data, histogram_data = sess.run([loss, steps, weights], {x: 1.25})
    assert isinstance(data, bytes)
    (value,) = Summary.FromString(data).value
    assert (value.tag, value.simple_value) == ("loss", 2.5)
    assert Summary.FromString(step_data).value[0].simple_value == 7.0
    histogram = Summary.FromString(histogram_data).value[0].histo
    assert (histogram.min, histogram.max, histogram.num) == (1.0, 5.0, 4.0)
    assert (histogram.sum, histogram.sum_squares) == (10.0, 34.0)
    assert sum(histogram.bucket) == 4


def test_tags_follow_name_scopes_and_stay_unique_as_in_tensorflow():
    with tf.Graph().as_default():
        value = tf.constant(1.0)
        with tf.name_scope("train"):
            first = tf.summary.scalar("loss", value)
        second = tf.summary.scalar("loss", value)
        third = tf.summary.scalar("loss", value)
        odd = tf.summary.scalar("accuracy (top 1)", value)
        family = tf.summary.scalar("lr", value, family="optimizer")
        with tf.Session() as sess:
            tags = [Summary.FromString(data).value[0].tag
                    for data in sess.run([first, second, third, odd, family])]
    assert tags == ["train/loss", "loss", "loss_1", "accuracy__top_1_",
                    "optimizer/optimizer/lr"]
    assert first.name == "train/loss:0"


def test_merge_all_collects_the_summaries_and_merge_refuses_a_repeated_tag():
    with tf.Graph().as_default():
        assert tf.summary.merge_all() is None
        x = tf.placeholder(tf.float32, (None,))
        mean = tf.summary.scalar("average", tf.reduce_mean(x))
        values = tf.summary.histogram("values", x)
        private = tf.summary.scalar("private", tf.reduce_max(x), collections=["mine"])
        assert tf.get_default_graph().get_collection(SUMMARIES) == [mean, values]
        merged = tf.summary.merge_all()
        mine = tf.summary.merge_all(key="mine")
        twice = tf.summary.merge([mean, mean])
        with tf.Session() as sess:
            data, mine_data = sess.run([merged, mine], {x: [1.0, 3.0]})
            with pytest.raises(tf.GraphError, match="'average' comes twice") as error:
                sess.run(twice, {x: [1.0]})
            assert "test_summary.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="summary tensors"):
            tf.summary.merge([x])
    summary = Summary.FromString(data)
    assert [(v.tag, v.HasField("histo")) for v in summary.value] == [("average", False),
                                                                     ("values", True)]
    assert summary.value[0].simple_value == 2.0
    assert [v.tag for v in Summary.FromString(mine_data).value] == [private.op.name]


def test_bad_values_are_refused_when_built_or_run_naming_the_line():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="needs a scalar") as error:
            tf.summary.scalar("loss", tf.constant([1.0, 2.0]))
        assert "test_summary.py" in str(error.value)
        x = tf.placeholder(tf.float32, (None,))
        histogram = tf.summary.histogram("h", x)
        with tf.Session() as sess:
            with pytest.raises(tf.GraphError, match="needs finite values") as error:
                sess.run(histogram, {x: [1.0, np.nan]})
        assert "test_summary.py" in str(error.value)


def test_file_writer_writes_scalars_histograms_and_the_graph_for_tensorboard(tmp_path):
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        w = tf.Variable(np.ones((3, 2), np.float32), name="w")
        y = tf.matmul(x, w, name="y")
        with tf.control_dependencies([y]):
            tf.no_op(name="done")
        tf.summary.scalar("loss", tf.reduce_mean(y))
        tf.summary.histogram("weights", w)
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(str(tmp_path), graph)  # writes the graph as it is now
        written_ops = [op.name for op in graph.get_operations()]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(3):
                writer.add_summary(sess.run(merged, {x: np.full((2, 3), step, np.float32)}),
                                   global_step=step)
        writer.flush()  # readable now, before close
        accumulator = read(tmp_path)
        writer.close()
    assert [(e.step, e.value) for e in accumulator.Scalars("loss")] == [(0, 0.0), (1, 3.0),
                                                                        (2, 6.0)]
    histograms = accumulator.Histograms("weights")
    assert [h.step for h in histograms] == [0, 1, 2]
    assert histograms[0].histogram_value.num == 6 and histograms[0].histogram_value.sum == 6
    nodes = {node.name: node for node in accumulator.Graph().node}
    assert nodes["x"].op == "Placeholder" and nodes["w"].op == "VariableV2"
    assert nodes["y"].op == "matmul" and list(nodes["y"].input) == ["x", "w"]
    assert list(nodes["done"].input) == ["^y"]
    shape = nodes["x"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 3]
    assert nodes["x"].attr["dtype"].type == 1  # DT_FLOAT
    assert "test_summary.py" in nodes["y"].attr["site"].s.decode()
    assert sorted(nodes) == sorted(written_ops)


def test_file_writer_accepts_a_session_reopens_after_close_and_checks_its_arguments(tmp_path):
    with tf.Graph().as_default():
        summary = tf.summary.scalar("value", tf.constant(1.5))
        with tf.Session() as sess:
            data = sess.run(summary)
            with tf.summary.FileWriter(tmp_path / "run", session=sess) as writer:
                writer.add_summary(data, 1)
                with pytest.raises(tf.GraphError, match="not the tensor"):
                    writer.add_summary(summary, 2)
                with pytest.raises(tf.GraphError, match="not a serialized Summary"):
                    writer.add_summary(b"\xff\xff\xff", 2)
                with pytest.raises(tf.GraphError, match="global_step must be"):
                    writer.add_summary(data, 2.5)
            assert writer.get_logdir() == str(tmp_path / "run")
            writer.add_summary(data, 3)  # after close: a new event file
            writer.close()
            writer.close()  # twice is harmless
    assert len(event_files(tmp_path / "run")) == 2
    accumulator = read(tmp_path / "run")
    assert [(e.step, e.value) for e in accumulator.Scalars("value")] == [(1, 1.5), (3, 1.5)]
    assert accumulator.Graph() is not None
    with pytest.raises(tf.GraphError, match="positive"):
        tf.summary.FileWriter(tmp_path, max_queue=0)


def test_file_writer_from_several_threads_keeps_every_event(tmp_path):
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, ())
        summary = tf.summary.scalar("step", step)
        writer = tf.summary.FileWriter(tmp_path, max_queue=3)
        with tf.Session() as sess:
            def work(offset):
                for i in range(25):
                    value = offset * 25 + i
                    writer.add_summary(sess.run(summary, {step: value}), value)

            threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        writer.close()
    events = read(tmp_path).Scalars("step")
    assert sorted((e.step, e.value) for e in events) == [(k, float(k)) for k in range(100)]


def test_names_tf_summary_does_not_build_say_so():
    with pytest.raises(AttributeError, match="tf.summary.image is not built"):
        tf.summary.image("pictures", tf.constant(np.zeros((1, 2, 2, 1))))
