"""`python -m framework.ops`: the registry as a table."""

from framework.ops import REGISTRY
from framework.ops.registry import registry_table

print(registry_table(REGISTRY))
