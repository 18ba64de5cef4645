"""gankit list [KIND] [--json|--markdown] [--plugins ...] [--builtin-only]: the registered components."""
from gankit.config import plugins
from gankit.config.listing import render
from gankit.errors import printable


def add_parser(sub) -> None:
    ls = sub.add_parser("list", help="list registered components with their arguments",
                        description="Every registered component: origin (built-in, plugin package and "
                                    "version, or file), arguments with types and defaults, one-line doc.")
    ls.add_argument("kind", nargs="?", help="only this registry (generators, discriminators, losses, optimizers, ...)")
    ls.add_argument("--plugins", nargs="*", default=[], metavar="PLUGIN",
                    help="plugin modules or files to load first (as a recipe's plugins: list)")
    ls.add_argument("--builtin-only", action="store_true", help="only gankit's own components")
    fmt = ls.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="machine-readable output")
    fmt.add_argument("--markdown", dest="format", action="store_const", const="markdown",
                     help="Markdown (the docs' component reference is made with this)")
    ls.set_defaults(func=run, format="text")


def run(args) -> int:
    plugins.load(args.plugins)
    print(printable(render(args.format, args.kind, builtin_only=args.builtin_only)), end="")  # docstrings of plugins
    return 0
