"""Optimizers with PyTorch's names, arguments and update formulas (`eager.optim.SGD`, ...).

An optimizer updates the parameters it was given from their `.grad`, in place, once per
`step()`; `zero_grad()` clears the gradients between steps. Learning-rate schedules live in
`eager.optim.lr_scheduler`.

>>> import eager
>>> from eager import optim
>>> w = eager.tensor([3.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> for _ in range(20):
...     opt.zero_grad()
...     loss = ((w - 1.0) ** 2).sum()
...     loss.backward()
...     opt.step()
>>> round(w.item(), 4)
1.0
"""

from eager.optim import lr_scheduler
from eager.optim.adam import Adam, AdamW
from eager.optim.adaptive import Adagrad, RMSprop
from eager.optim.optimizer import Optimizer
from eager.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
