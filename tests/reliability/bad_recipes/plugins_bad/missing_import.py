"""A plugin file that imports a package that is not installed (the bad-recipe corpus)."""
import gankit_no_such_package  # noqa: F401
