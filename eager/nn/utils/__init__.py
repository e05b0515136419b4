"""`eager.nn.utils`: gradient clipping and parameter/vector conversion, as `torch.nn.utils`.

>>> import eager
>>> from eager import nn
>>> model = nn.Linear(3, 2)
>>> model(eager.ones(4, 3)).sum().backward()
>>> norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
>>> total = sum((p.grad * p.grad).sum().item() for p in model.parameters()) ** 0.5
>>> norm.item() > 1.0, round(total, 4)
(True, 1.0)
"""

from eager.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from eager.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]
