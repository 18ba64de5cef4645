"""Subcommands of ``gankit``: one module each, with ``add_parser(sub)`` and ``run(args)``.

The CLI finds every module in this package, so a new subcommand is one new file.
"""
