"""`eager.utils`: helpers with the names of `torch.utils` (so far `eager.utils.data`).

>>> import eager
>>> eager.utils.data.DataLoader is eager.utils.data.dataloader.DataLoader
True
"""

from eager.utils import data

__all__ = ["data"]
