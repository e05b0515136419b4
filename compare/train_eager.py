"""Training the digits models with the eager front-end, the way a PyTorch user writes it.

`train("mlp")` or `train("cnn")` runs the usual loop (DataLoader, forward, CrossEntropyLoss,
backward, optimizer step) on the fixed stratified split of the 8x8 digits and returns a
`TrainResult`: the loss of every step, the test accuracy after each epoch, time per step,
total time and peak memory. `python -m compare train [--model mlp|cnn]` prints it.

Each model has a recipe (`RECIPES`) that reaches its target accuracy on the test split with
margin: the MLP (target 97%) got 98.1% to 99.7% over seeds 0-9, the CNN (target 98%) 99.2% to
99.4% over seeds 0-4. Any argument given to `train` overrides the recipe's value. The recipes
standardize the pixels with the training split's mean and standard deviation, smooth the labels
by 0.1 and anneal the learning rate along a cosine: without those three the MLP lands around
96% (95.3% to 97.2% over three seeds with Adam).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from tqdm.auto import tqdm

import eager
from compare.models_eager import build_model, parameter_count
from compare.timing import format_seconds, format_table
from eager import nn, optim
from eager.data import DataLoader, TensorDataset
from framework.datasets import load_digits
from framework.errors import ArgumentError

__all__ = ["Recipe", "RECIPES", "TARGETS", "TrainResult", "accuracy", "format_result", "main",
           "standardize", "train"]

OPTIMIZERS = ("adam", "sgd")
SGD_MOMENTUM = 0.9


@dataclass(frozen=True)
class Recipe:
    """The hyper-parameters of one training run.

    >>> RECIPES["mlp"].optimizer, RECIPES["cnn"].optimizer
    ('sgd', 'adam')
    """

    epochs: int
    batch_size: int
    lr: float
    optimizer: str  # "adam" or "sgd" (SGD with momentum 0.9)
    label_smoothing: float = 0.1
    cosine_schedule: bool = True  # anneal lr to 0 over the epochs (stepped once per epoch)


RECIPES = {
    "mlp": Recipe(epochs=15, batch_size=32, lr=0.1, optimizer="sgd"),
    "cnn": Recipe(epochs=6, batch_size=32, lr=3e-3, optimizer="adam"),
}
TARGETS = {"mlp": 0.97, "cnn": 0.98}  # test accuracy on the fixed split


@dataclass
class TrainResult:
    """What one run measured. Times are wall-clock seconds on this machine.

    >>> result = TrainResult("mlp", RECIPES["mlp"], seed=0, losses=[2.0, 1.0, 0.8, 0.6],
    ...                      epoch_accuracies=[0.5, 0.75], step_seconds=[0.1, 0.02, 0.03, 0.02],
    ...                      total_seconds=1.0, peak_memory_bytes=1024, parameters=8970,
    ...                      model=None)
    >>> result.test_accuracy, result.epoch_losses, result.seconds_per_step, result.steps
    (0.75, [1.5, 0.7], 0.025, 4)
    """

    model_name: str
    recipe: Recipe
    seed: int
    losses: list[float]  # the training loss of every step, in order
    epoch_accuracies: list[float]  # test accuracy after each epoch
    step_seconds: list[float]  # forward + loss + backward + optimizer step, per step
    total_seconds: float  # everything: data, model, training, evaluation
    peak_memory_bytes: int  # eager.max_memory_allocated() over the training loop
    parameters: int
    model: nn.Module = field(repr=False)

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the test split after the last epoch."""
        return self.epoch_accuracies[-1]

    @property
    def seconds_per_step(self) -> float:
        """The median time of a step: the first steps also compile kernels, so not the mean."""
        return float(np.median(self.step_seconds))

    @property
    def steps(self) -> int:
        return len(self.losses)

    @property
    def epoch_losses(self) -> list[float]:
        """The mean training loss of each epoch."""
        per_epoch = self.steps // len(self.epoch_accuracies)
        return [float(np.mean(self.losses[k * per_epoch:(k + 1) * per_epoch]))
                for k in range(len(self.epoch_accuracies))]


def standardize(train_x: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Shift and scale every array by the training split's mean and standard deviation.

    >>> train_x = np.array([0.0, 2.0], np.float32)
    >>> [a.tolist() for a in standardize(train_x, np.array([4.0], np.float32))]
    [[-1.0, 1.0], [3.0]]
    """
    mean, std = float(train_x.mean()), float(train_x.std())
    return [((x - mean) / std).astype(np.float32) for x in (train_x, *others)]


def accuracy(model: nn.Module, x, y, batch_size: int = 512) -> float:
    """The fraction of rows of `x` whose largest logit is at the label in `y`.

    Runs in eval mode without recording, and leaves the model in the mode it found it in.

    >>> import eager
    >>> from compare.models_eager import build_model
    >>> model = build_model("mlp")
    >>> 0.0 <= accuracy(model, np.zeros((3, 64), np.float32), np.array([0, 1, 2])) <= 1.0
    True
    """
    was_training = model.training
    model.eval()
    correct = 0
    with eager.no_grad():
        for start in range(0, len(y), batch_size):
            logits = model(eager.from_numpy(np.ascontiguousarray(x[start:start + batch_size])))
            correct += int((logits.argmax(1).numpy() == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(y)


def _check_arguments(recipe: Recipe, seed) -> None:
    for what in ("epochs", "batch_size"):
        value = getattr(recipe, what)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ArgumentError(f"{what} must be a positive int, got {value!r}")
    if isinstance(recipe.lr, bool) or not isinstance(recipe.lr, numbers.Real) \
            or not math.isfinite(recipe.lr) or recipe.lr <= 0:
        raise ArgumentError(f"lr must be a positive number, got {recipe.lr!r}")
    if recipe.optimizer not in OPTIMIZERS:
        raise ArgumentError(f"unknown optimizer {recipe.optimizer!r}; choose from "
                            f"{', '.join(OPTIMIZERS)}")
    if not 0.0 <= recipe.label_smoothing <= 1.0:
        raise ArgumentError(f"label_smoothing must be between 0 and 1, got "
                            f"{recipe.label_smoothing!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ArgumentError(f"seed must be an int, got {seed!r}")


def _make_optimizer(name: str, parameters, lr: float) -> optim.Optimizer:
    if name == "adam":
        return optim.Adam(parameters, lr=lr)
    return optim.SGD(parameters, lr=lr, momentum=SGD_MOMENTUM)


def resolve_recipe(model_name: str, seed: int, **overrides) -> Recipe:
    """The model's recipe with every override that is not None, checked before any work."""
    if model_name not in RECIPES:
        raise ArgumentError(f"unknown model {model_name!r}; choose from {', '.join(RECIPES)}")
    recipe = replace(RECIPES[model_name],
                     **{key: value for key, value in overrides.items() if value is not None})
    _check_arguments(recipe, seed)
    return recipe


def prepare_digits(model_name: str, recipe: Recipe, seed: int) -> tuple:
    """(train_x, train_y, test_x, test_y, loader): standardized digits shaped for the model and
    the seeded training loader. Both front-ends train from it, so they see the same batches in
    the same order."""
    flat = model_name == "mlp"
    train_x, train_y = load_digits(flat=flat, split="train")
    test_x, test_y = load_digits(flat=flat, split="test")
    train_x, test_x = standardize(train_x, test_x)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=recipe.batch_size,
                        shuffle=True, seed=seed)
    return train_x, train_y, test_x, test_y, loader


def train(model_name: str = "mlp", epochs: int | None = None, batch_size: int | None = None,
          lr: float | None = None, optimizer: str | None = None, seed: int = 0,
          progress: bool = True, *, label_smoothing: float | None = None,
          cosine_schedule: bool | None = None) -> TrainResult:
    """Train a fresh `model_name` ("mlp" or "cnn") on the digits' training split.

    Arguments left as None take the model's recipe (`RECIPES[model_name]`). `seed` fixes the
    initial weights and the order of the batches. `progress` shows a tqdm bar (on stderr).

    >>> result = train("mlp", epochs=1, progress=False)
    >>> result.steps, result.losses[-1] < result.losses[0], result.test_accuracy > 0.5
    (45, True, True)
    """
    recipe = resolve_recipe(model_name, seed, epochs=epochs, batch_size=batch_size, lr=lr,
                            optimizer=optimizer, label_smoothing=label_smoothing,
                            cosine_schedule=cosine_schedule)
    start = time.perf_counter()
    train_x, train_y, test_x, test_y, loader = prepare_digits(model_name, recipe, seed)
    model = build_model(model_name, seed=seed)
    loss_function = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    optimizer = _make_optimizer(recipe.optimizer, model.parameters(), recipe.lr)
    scheduler = (optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
                 if recipe.cosine_schedule else None)

    losses, epoch_accuracies, step_seconds = [], [], []
    eager.reset_peak_memory_stats()
    bar = tqdm(total=recipe.epochs * len(loader), desc=f"eager {model_name}", unit="step",
               disable=not progress, leave=False)
    with bar:
        for _ in range(recipe.epochs):
            model.train()
            for images, labels in loader:
                step_start = time.perf_counter()
                optimizer.zero_grad()
                loss = loss_function(model(images), labels)
                loss.backward()
                optimizer.step()
                step_seconds.append(time.perf_counter() - step_start)
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
                bar.update()
            if scheduler is not None:
                scheduler.step()
            epoch_accuracies.append(accuracy(model, test_x, test_y))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", test_accuracy=f"{epoch_accuracies[-1]:.3f}")
    peak = eager.max_memory_allocated()
    return TrainResult(model_name, recipe, seed, losses, epoch_accuracies, step_seconds,
                       time.perf_counter() - start, peak, parameter_count(model), model)


def format_result(result: TrainResult) -> str:
    """A per-epoch table and a summary, for the demo.

    >>> result = TrainResult("cnn", RECIPES["cnn"], 0, [2.0, 0.4], [0.99], [0.01, 0.01], 1.0,
    ...                      2**20, 38282, None)
    >>> print(format_result(result).splitlines()[-2])
    test accuracy 99.00% (meets the 98% target); loss 2.0000 at step 1 -> 0.4000 at step 2
    """
    rows = [[str(epoch + 1), f"{loss:.4f}", f"{test_accuracy:.2%}"]
            for epoch, (loss, test_accuracy) in enumerate(zip(result.epoch_losses,
                                                              result.epoch_accuracies))]
    recipe = ", ".join(f"{key}={value}" for key, value in asdict(result.recipe).items())
    target = TARGETS[result.model_name]
    verdict = "meets" if result.test_accuracy >= target else "below"
    lines = [
        f"eager {result.model_name} ({result.parameters} parameters) on the 8x8 digits, "
        f"seed {result.seed}: {recipe}",
        "",
        format_table(["epoch", "mean loss", "test accuracy"], rows),
        "",
        f"test accuracy {result.test_accuracy:.2%} ({verdict} the {target:.0%} target); "
        f"loss {result.losses[0]:.4f} at step 1 -> {result.losses[-1]:.4f} at step "
        f"{result.steps}",
        f"{format_seconds(result.seconds_per_step)} per step (median of forward, loss, "
        f"backward, optimizer step), {result.total_seconds:.1f} s in all; peak memory "
        f"{result.peak_memory_bytes / 2**20:.2f} MiB",
    ]
    return "\n".join(lines)


def main(model_name: str = "mlp", epochs: int | None = None, quick: bool = False,
         progress: bool = True) -> str:
    """The `train` demo's text: train `model_name` (2 epochs with `quick`) and report.

    >>> "test accuracy" in main("mlp", quick=True, progress=False)
    True
    """
    if quick and epochs is None:
        epochs = 2
    return format_result(train(model_name, epochs=epochs, progress=progress))
