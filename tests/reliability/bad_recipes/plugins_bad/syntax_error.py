"""A plugin file that does not parse (the bad-recipe corpus)."""
from gankit.config.registry import LOSSES

def broken(:
    pass
