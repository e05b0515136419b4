"""The eager front-end's models for the 8x8 digits: an MLP and a small CNN.

Both are ordinary `eager.nn` modules, written as a PyTorch user would write them. `build_model`
seeds the shared generator first, so the same name and seed always give the same initial
weights (the graph front-end draws from the same generator and initializers).

>>> model = build_model("mlp", seed=0)
>>> model
MLP(
  (layers): Sequential(
    (0): Linear(in_features=64, out_features=64, bias=True)
    (1): ReLU()
    (2): Linear(in_features=64, out_features=64, bias=True)
    (3): ReLU()
    (4): Linear(in_features=64, out_features=10, bias=True)
  )
)
"""

from __future__ import annotations

import eager
from eager import nn
from framework.errors import ArgumentError

__all__ = ["MLP", "CNN", "MODELS", "build_model", "parameter_count"]

IMAGE_SIDE = 8  # the digits are 8x8 grey images
CLASSES = 10


class MLP(nn.Module):
    """in_features -> hidden -> hidden -> classes, with ReLU between the linear layers.

    Takes flat rows (N, 64) and returns logits (N, 10).

    >>> import eager
    >>> MLP(hidden=32)(eager.zeros(5, 64)).shape
    (5, 10)
    """

    def __init__(self, in_features: int = IMAGE_SIDE * IMAGE_SIDE, hidden: int = 64,
                 classes: int = CLASSES):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):
        return self.layers(x)


class CNN(nn.Module):
    """Two 3x3 convolutions (padding 1, so 8x8 stays 8x8), a 2x2 max-pool, two linear layers.

    Takes images (N, 1, 8, 8) and returns logits (N, 10).

    >>> import eager
    >>> CNN()(eager.zeros(2, 1, 8, 8)).shape
    (2, 10)
    """

    def __init__(self, channels: tuple[int, int] = (16, 32), hidden: int = 64,
                 classes: int = CLASSES):
        super().__init__()
        first, second = channels
        pooled_side = IMAGE_SIDE // 2
        self.features = nn.Sequential(
            nn.Conv2d(1, first, 3, padding=1), nn.ReLU(),
            nn.Conv2d(first, second, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(second * pooled_side * pooled_side, hidden), nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"mlp": MLP, "cnn": CNN}


def build_model(name: str, seed: int = 0, **options) -> nn.Module:
    """A freshly initialized model by name ("mlp" or "cnn"), seeded with `eager.manual_seed`.

    `options` go to the model's constructor (e.g. `hidden=128`).

    >>> import eager
    >>> a, b = build_model("cnn", seed=3), build_model("cnn", seed=3)
    >>> all((p.detach() == q.detach()).all().item()
    ...     for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    if name not in MODELS:
        raise ArgumentError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    eager.manual_seed(seed)
    return MODELS[name](**options)


def parameter_count(model: nn.Module) -> int:
    """The number of trainable values in `model`.

    >>> parameter_count(MLP())
    8970
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
