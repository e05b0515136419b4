"""`eager.data`: the earlier name of `eager.utils.data` (PyTorch's `torch.utils.data`), kept so
existing code keeps working; both names give the same classes.

>>> import eager
>>> from eager.data import DataLoader, TensorDataset
>>> DataLoader is eager.utils.data.DataLoader
True
>>> x, y = eager.arange(10).float().reshape(5, 2), eager.tensor([0, 1, 0, 1, 1])
>>> [tuple(xb.shape) for xb, yb in DataLoader(TensorDataset(x, y), batch_size=2)]
[(2, 2), (2, 2), (1, 2)]
"""

from eager.utils.data import *  # noqa: F403
from eager.utils.data import __all__  # noqa: F401
