"""A TensorFlow-1-style training script, written the way a TF1 user would write it, must run
unchanged (apart from the import) and learn the digits."""

from __future__ import annotations

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

        # A fresh session restored from the checkpoint scores the same.
        with tf.Session() as sess:
            saver.restore(sess, path)
            restored_accuracy = sess.run(accuracy, feed_dict={x: x_test, y: y_test})
        # -----------------------------------------------------------------------------------

    assert steps == epochs * int(np.ceil(len(x_train) / batch_size))
    assert np.mean(losses[:5]) > 1.5 and np.mean(losses[-20:]) < 0.2
    assert test_accuracy > 0.9, test_accuracy
    assert restored_accuracy == test_accuracy


def test_tf1_mnist_for_beginners_script_learns_the_digits():
    """TF1's "MNIST for ML beginners" tutorial, line for line, on the 8x8 digits (64 pixels):
    a shapeless-batch placeholder, zero-initialized weights, softmax, the hand-written cross
    entropy with reduction_indices, an InteractiveSession and `.run()` / `.eval()`."""
    x_train, y_train = datasets.load_digits(flat=True, split="train")
    x_test, y_test = datasets.load_digits(flat=True, split="test")
    one_hot_train, one_hot_test = np.eye(10)[y_train], np.eye(10)[y_test]
    rng = np.random.default_rng(0)

    tf.reset_default_graph()
    # --- the TF1 tutorial ---------------------------------------------------------------------
    x = tf.placeholder(tf.float32, [None, 64])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    y_ = tf.placeholder("float", [None, 10])
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)

    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for _ in range(1000):
        batch = rng.choice(len(x_train), 100)
        batch_xs, batch_ys = x_train[batch], one_hot_train[batch]
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})

    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    test_accuracy = accuracy.eval(feed_dict={x: x_test, y_: one_hot_test})
    sess.close()
    # --------------------------------------------------------------------------------------------
    tf.reset_default_graph()

    assert W.shape == (64, 10) and y_.dtype == np.float32
    assert test_accuracy >= 0.92, test_accuracy
