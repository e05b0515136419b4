"""The classic Theano tutorial "Classifying MNIST digits using Logistic Regression", written the
way it is written (`import graph.theano as theano`, `import graph.theano.tensor as T` in place
of Theano's imports), on scikit-learn's 8x8 digits: shared W and b, `T.matrix` x and
`T.lvector` y, `p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)`, the negative log-likelihood
with the `[T.arange(y.shape[0]), y]` idiom, `T.grad`, and minibatch training through
`theano.function` with updates and givens that slice shared datasets with a symbolic index. It
must reach 92% on the held-out digits within about 30 seconds."""

from __future__ import annotations

import time

import numpy

import graph as tf
import graph.theano as theano
import graph.theano.tensor as T
from framework import datasets

# --- the tutorial, as written (datasets loaded from scikit-learn's digits) ---------------------


class LogisticRegression:
    """Multi-class logistic regression: W and b are shared, the class probabilities are a
    softmax of the inputs' affine projection, the prediction their argmax."""

    def __init__(self, input, n_in, n_out):  # noqa: A002  (the tutorial's name)
        self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name="W", borrow=True)
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX),
                               name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        if y.ndim != self.y_pred.ndim:
            raise TypeError("y should have the same shape as self.y_pred",
                            ("y", y.type, "y_pred", self.y_pred.type))
        if y.dtype.startswith("int"):
            return T.mean(T.neq(self.y_pred, y))
        raise NotImplementedError()


def shared_dataset(data_xy, borrow=True):
    """The data in shared variables, so that a minibatch is a slice taken inside the graph;
    the labels are stored as floats and cast back, as the tutorial does."""
    data_x, data_y = data_xy
    shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=borrow)
    shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX), borrow=borrow)
    return shared_x, T.cast(shared_y, "int64")


def sgd_optimization_digits(learning_rate=0.13, n_epochs=30, batch_size=50):
    train_set_x, train_set_y = shared_dataset(datasets.load_digits(flat=True, split="train"))
    test_set_x, test_set_y = shared_dataset(datasets.load_digits(flat=True, split="test"))
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()
    x = T.matrix("x")
    y = T.lvector("y")
    classifier = LogisticRegression(input=x, n_in=8 * 8, n_out=10)
    cost = classifier.negative_log_likelihood(y)

    test_model = theano.function(inputs=[], outputs=classifier.errors(y),
                                 givens={x: test_set_x, y: test_set_y})
    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)
    updates = [(classifier.W, classifier.W - learning_rate * g_W),
               (classifier.b, classifier.b - learning_rate * g_b)]
    train_model = theano.function(
        inputs=[index],
        outputs=cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size: (index + 1) * batch_size],
            y: train_set_y[index * batch_size: (index + 1) * batch_size],
        })

    first_epoch_cost = None
    for _epoch in range(n_epochs):
        costs = [train_model(minibatch_index) for minibatch_index in range(n_train_batches)]
        if first_epoch_cost is None:
            first_epoch_cost = float(numpy.mean(costs))
    return float(test_model()), first_epoch_cost, float(numpy.mean(costs)), train_model


# --- the checks --------------------------------------------------------------------------------


def test_theano_logistic_regression_tutorial_on_the_digits():
    start = time.perf_counter()
    with tf.Graph().as_default():
        test_error, first_cost, last_cost, train_model = sgd_optimization_digits()
    assert 1.0 - test_error >= 0.92, f"test accuracy {1.0 - test_error:.3f}"
    assert last_cost < first_cost / 3  # the negative log-likelihood went well down
    assert train_model.compiled is not None  # the training step ran compiled
    assert time.perf_counter() - start < 30.0
