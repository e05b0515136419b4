"""TensorFlow 1's CNN tutorials, written the way they are written (`import graph as tf`), on
scikit-learn's 8x8 digits: "Deep MNIST for experts" with tf.nn and a keep_prob placeholder, and
the tf.layers / tf.losses / learning-rate-decay version of the same network. Each must reach 92%
on the held-out digits within about 30 seconds."""

from __future__ import annotations

import numpy as np

import graph as tf
from framework import datasets
from framework.ops import random as framework_random


def _digits():
    x_train, y_train = datasets.load_digits(flat=True, split="train")
    x_test, y_test = datasets.load_digits(flat=True, split="test")
    return x_train.astype(np.float32), y_train, x_test.astype(np.float32), y_test


def test_deep_mnist_for_experts_cnn_on_the_digits():
    framework_random.manual_seed(0)
    x_train, y_train, x_test, y_test = _digits()
    onehot_train, onehot_test = np.eye(10)[y_train], np.eye(10)[y_test]
    rng = np.random.default_rng(1)
    with tf.Graph().as_default():
        # --- the tutorial ------------------------------------------------------------------
        x = tf.placeholder(tf.float32, shape=[None, 64])
        y_ = tf.placeholder(tf.float32, shape=[None, 10])

        def weight_variable(shape):
            initial = tf.truncated_normal(shape, stddev=0.1)
            return tf.Variable(initial)

        def bias_variable(shape):
            initial = tf.constant(0.1, shape=shape)
            return tf.Variable(initial)

        def conv2d(x, W):
            return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")

        def max_pool_2x2(x):
            return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

        x_image = tf.reshape(x, [-1, 8, 8, 1])
        W_conv1 = weight_variable([3, 3, 1, 16])
        b_conv1 = bias_variable([16])
        h_conv1 = tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1)
        h_pool1 = max_pool_2x2(h_conv1)

        W_conv2 = weight_variable([3, 3, 16, 32])
        b_conv2 = bias_variable([32])
        h_conv2 = tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2)
        h_pool2 = max_pool_2x2(h_conv2)

        W_fc1 = weight_variable([2 * 2 * 32, 128])
        b_fc1 = bias_variable([128])
        h_pool2_flat = tf.reshape(h_pool2, [-1, 2 * 2 * 32])
        h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)

        keep_prob = tf.placeholder(tf.float32)
        h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)

        W_fc2 = weight_variable([128, 10])
        b_fc2 = bias_variable([10])
        y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2

        cross_entropy = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
        train_step = tf.train.AdamOptimizer(3e-3).minimize(cross_entropy)
        correct_prediction = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

        with tf.Session():
            tf.global_variables_initializer().run()
            train_accuracies = []
            for i in range(600):
                batch = rng.choice(len(x_train), 50, replace=False)
                if i % 100 == 0:
                    train_accuracies.append(accuracy.eval(feed_dict={
                        x: x_train[batch], y_: onehot_train[batch], keep_prob: 1.0}))
                train_step.run(feed_dict={x: x_train[batch], y_: onehot_train[batch],
                                          keep_prob: 0.5})
            test_accuracy = accuracy.eval(feed_dict={x: x_test, y_: onehot_test,
                                                     keep_prob: 1.0})
        # -----------------------------------------------------------------------------------
    assert train_accuracies[0] < 0.5 < train_accuracies[-1]
    assert test_accuracy >= 0.92, test_accuracy


def test_tf_layers_cnn_with_losses_decay_and_global_step_on_the_digits():
    framework_random.manual_seed(0)
    x_train, y_train, x_test, y_test = _digits()
    rng = np.random.default_rng(2)
    with tf.Graph().as_default():
        # --- the tutorial ------------------------------------------------------------------
        x = tf.placeholder(tf.float32, [None, 64], name="x")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        training = tf.placeholder(tf.bool, (), name="training")

        input_layer = tf.reshape(x, [-1, 8, 8, 1])
        conv1 = tf.layers.conv2d(inputs=input_layer, filters=16, kernel_size=[3, 3],
                                 padding="same", activation=tf.nn.relu)
        pool1 = tf.layers.max_pooling2d(inputs=conv1, pool_size=[2, 2], strides=2)
        conv2 = tf.layers.conv2d(inputs=pool1, filters=32, kernel_size=[3, 3],
                                 padding="same", activation=tf.nn.relu)
        pool2 = tf.layers.max_pooling2d(inputs=conv2, pool_size=[2, 2], strides=2)
        pool2_flat = tf.reshape(pool2, [-1, 2 * 2 * 32])
        dense = tf.layers.dense(inputs=pool2_flat, units=128, activation=tf.nn.relu)
        dropout = tf.layers.dropout(inputs=dense, rate=0.4, training=training)
        logits = tf.layers.dense(inputs=dropout, units=10)

        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        global_step = tf.train.get_or_create_global_step()
        learning_rate = tf.train.exponential_decay(5e-3, global_step, decay_steps=100,
                                                   decay_rate=0.8, staircase=True)
        optimizer = tf.train.AdamOptimizer(learning_rate=learning_rate)
        train_op = optimizer.minimize(loss=tf.losses.get_total_loss(),
                                      global_step=global_step)
        predictions = tf.argmax(logits, axis=1)  # the tutorial's input= keyword: not yet
        accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32))

        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = []
            for _ in range(500):
                batch = rng.choice(len(x_train), 50, replace=False)
                _, batch_loss = sess.run([train_op, loss], feed_dict={
                    x: x_train[batch], labels: y_train[batch], training: True})
                losses.append(batch_loss)
            steps, final_rate = sess.run([global_step, learning_rate])
            test_accuracy = sess.run(accuracy, feed_dict={x: x_test, labels: y_test,
                                                          training: False})
        # -----------------------------------------------------------------------------------
    assert steps == 500
    assert np.mean(losses[:10]) > 1.5 and np.mean(losses[-50:]) < 0.3
    np.testing.assert_allclose(final_rate, 5e-3 * 0.8 ** 5, rtol=1e-6)
    assert test_accuracy >= 0.92, test_accuracy
