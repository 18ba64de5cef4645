"""gankit list [KIND] [--json|--markdown] [--plugins ...]: the registered components."""


def add_parser(sub) -> None:
    ls = sub.add_parser("list", help="list registered components with their arguments")
    ls.add_argument("kind", nargs="?", help="only this registry (generators, losses, ...)")
    ls.add_argument("--plugins", nargs="*", default=[], help="plugin modules or files to load first")
    fmt = ls.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--markdown", dest="format", action="store_const", const="markdown")
    ls.set_defaults(func=run, format="text")


def run(args) -> int:
    from .. import plugins
    from ..listing import render

    plugins.load(args.plugins)
    print(render(args.format, args.kind), end="")
    return 0
