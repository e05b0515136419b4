"""A TensorFlow-1-style training script, written the way a TF1 user would write it, must run
unchanged (apart from the import) and learn the digits."""

from __future__ import annotations

import time

import numpy as np

import graph as tf
from framework import datasets
from framework.ops import random as framework_random


def test_tf1_mlp_script_learns_the_digits(tmp_path):
    framework_random.manual_seed(0)
    x_train, y_train = datasets.load_digits(flat=True, split="train")
    x_test, y_test = datasets.load_digits(flat=True, split="test")

    with tf.Graph().as_default():
        # --- the TF1 script ---------------------------------------------------------------
        x = tf.placeholder(tf.float32, (None, 64), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")

        w1 = tf.Variable(tf.random_normal((64, 64), stddev=0.1), name="w1")
        b1 = tf.Variable(tf.zeros((64,)), name="b1")
        hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
        logits = tf.layers.dense(hidden, 10, name="logits")

        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        global_step = tf.train.get_or_create_global_step()
        train_op = tf.train.AdamOptimizer(1e-2).minimize(loss, global_step=global_step)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        saver = tf.train.Saver()

        batch_size, epochs = 64, 8
        rng = np.random.default_rng(0)
        losses = []
        start = time.perf_counter()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(epochs):
                order = rng.permutation(len(x_train))
                for i in range(0, len(order), batch_size):
                    batch = order[i:i + batch_size]
                    _, batch_loss = sess.run([train_op, loss],
                                             feed_dict={x: x_train[batch], y: y_train[batch]})
                    losses.append(float(batch_loss))
            test_accuracy = sess.run(accuracy, feed_dict={x: x_test, y: y_test})
            steps = int(sess.run(global_step))
            path = saver.save(sess, str(tmp_path / "digits.ckpt"), global_step=global_step)
        elapsed = time.perf_counter() - start

        # A fresh session restored from the checkpoint scores the same.
        with tf.Session() as sess:
            saver.restore(sess, path)
            restored_accuracy = sess.run(accuracy, feed_dict={x: x_test, y: y_test})
        # -----------------------------------------------------------------------------------

    assert steps == epochs * int(np.ceil(len(x_train) / batch_size))
    assert np.mean(losses[:5]) > 1.5 and np.mean(losses[-20:]) < 0.2
    assert test_accuracy > 0.9, test_accuracy
    assert restored_accuracy == test_accuracy
    assert elapsed < 60, f"training took {elapsed:.1f} s"  # a few seconds, on a loaded machine
