"""An installable gankit plugin: registering is importing.

``pyproject.toml`` declares this module under the ``gankit.plugins`` entry-point group, so
any recipe can use its components once the package is installed, with no ``plugins:`` line.
"""
from . import data, losses, models  # noqa: F401  (each module registers its components)

__version__ = "0.2.0"
