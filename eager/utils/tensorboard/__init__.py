"""`eager.utils.tensorboard`: `SummaryWriter` with `torch.utils.tensorboard`'s names.

It writes real TensorBoard event files through tensorboardX, so `tensorboard --logdir runs`
shows the scalars, histograms, text and the graph of one recorded forward pass. As in PyTorch,
`import eager` does not import it: import it by name.

>>> import tempfile
>>> from eager.utils.tensorboard import SummaryWriter
>>> with SummaryWriter(tempfile.mkdtemp()) as writer:
...     writer.add_scalar("loss", 0.5, global_step=1)
"""

from eager.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
