"""A validated recipe's dataset: built from its ``data`` node, less the ``data.holdout`` images."""
from gankit.config.registry import DATASETS
from gankit.config.validate import ValidRecipe
from gankit.data.base import ImageData
from gankit.data.holdout import hold_out
from gankit.errors import GankitError


def build_data(recipe: ValidRecipe) -> ImageData:
    """The recipe's dataset, without the ``data.holdout`` images it keeps out of training (``data.heldout``)."""
    name = recipe.data.get("name")
    data = DATASETS.build(recipe.data, "data")
    if not isinstance(data, ImageData):
        raise GankitError(f"data.name: dataset '{name}' returned {type(data).__name__}, not gankit.data.ImageData.")
    return hold_out(data, recipe.holdout, "data", name)
