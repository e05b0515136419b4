"""`eager.nn`: PyTorch-style modules, layers and losses for the eager front-end.

>>> import eager
>>> from eager import nn
>>> eager.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> loss = nn.CrossEntropyLoss()(model(eager.randn(5, 4)), eager.tensor([0, 1, 2, 0, 1]))
>>> loss.backward()
>>> [tuple(p.grad.shape) for p in model.parameters()]
[(8, 4), (8,), (3, 8), (3,)]
"""

from eager.nn import functional, init, utils
from eager.nn.activation import ELU, SELU, Hardtanh, LeakyReLU, ReLU6, SiLU, Softplus
from eager.nn.containers import ModuleDict, ModuleList, ParameterList, Sequential
from eager.nn.layers import (
    GELU,
    AvgPool2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from eager.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from eager.nn.module import Module, RemovableHandle
from eager.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from eager.nn.parameter import Parameter
from eager.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Embedding", "Flatten", "GELU", "GRU", "GRUCell", "Identity", "LSTM", "LSTMCell",
    "LayerNorm", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleList",
    "NLLLoss", "Parameter", "RNN", "RNNCell", "ReLU", "RemovableHandle", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "functional", "init",
    "utils", "BCELoss", "BCEWithLogitsLoss", "ELU", "Hardtanh", "HuberLoss", "KLDivLoss",
    "L1Loss", "LeakyReLU", "ReLU6", "SELU", "SiLU", "SmoothL1Loss", "Softplus",
    "ModuleDict", "ParameterList",
]
