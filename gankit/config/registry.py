"""Name → component registries.

This module is a leaf: it imports nothing of gankit but the error type and ``arguments`` (a leaf too).
A registry whose kind has a contract (``gankit.config.contracts``) follows it: its base module calls
``follow(contract)``, and every component built from the registry is checked against it once. The registries fill
themselves on their first read by calling the functions given to ``on_first_read`` (plugin
discovery, ``gankit.config.plugins``, installs one that imports the built-in components and
then the installed plugin packages). Components registered inside ``with origin("..."):`` get
that origin (the plugin loader says which package or file is registering).
"""
import contextlib
import difflib
import inspect
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from omegaconf import DictConfig, OmegaConf

from gankit.config.arguments import REJECTIONS, expected_type, rejected
from gankit.errors import GankitError


@dataclass
class Entry:
    name: str
    obj: Callable
    origin: str  # "built-in", "plugin <package> <version>" or "file <path>"

    @property
    def doc(self) -> str:
        doc = inspect.getdoc(self.obj) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    def parameters(self) -> dict[str, inspect.Parameter]:
        try:
            sig = inspect.signature(self.obj)
        except (TypeError, ValueError):
            return {}
        return {
            n: p
            for n, p in sig.parameters.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def accepts_any_kwarg(self) -> bool:
        try:
            sig = inspect.signature(self.obj)
        except (TypeError, ValueError):
            return True
        return any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


# The origin given to components registered while a plugin is being loaded (innermost last).
_origins: list[str] = []
# Called once, in order, on the first read of any registry (see ``on_first_read``).
_first_read: list[Callable[[], None]] = []
_populated = False


def on_first_read(fn: Callable[[], None]) -> Callable[[], None]:
    """Have ``fn()`` called on the first read of any registry (now, if that read has happened)."""
    if fn not in _first_read:
        _first_read.append(fn)
        if _populated:
            fn()
    return fn


def populate() -> None:
    """Run the first-read functions (once); every read of a registry calls this first."""
    global _populated
    if _populated:
        return
    _populated = True  # before the calls: they may read registries themselves
    for fn in list(_first_read):
        fn()


@contextlib.contextmanager
def origin(text: str):
    """Components registered inside this block get ``text`` as their origin (e.g. ``"file /x.py"``)."""
    _origins.append(text)
    try:
        yield text
    finally:
        _origins.pop()


class Registry:
    """A table of named components of one kind (generators, losses, ...)."""

    def __init__(self, kind: str, plural: str | None = None):
        self.kind, self.plural = kind, plural or kind + "s"
        self._entries: dict[str, Entry] = {}
        self.contract = None  # what every built component must provide (``follow``)

    def follow(self, contract) -> None:
        """Check (and complete) every component of this registry against ``contract``, a
        ``gankit.config.contracts.Contract``: the entries registered so far and all later ones."""
        self.contract = contract
        for entry in self._entries.values():
            contract.registered(entry.obj)

    # -- registering -------------------------------------------------------------
    def register(self, name: str | None = None, *, override: bool = False):
        """Decorator: ``@GENERATORS.register("my_gen")`` on a class or factory."""

        def deco(obj):
            key = name or obj.__name__
            where = _origins[-1] if _origins else _origin_of(obj)
            old = self._entries.get(key)
            if old is not None and not override and old.obj is not obj:
                raise GankitError(
                    f"{self.kind} '{key}' is registered twice: by {old.origin} "
                    f"({_qualname(old.obj)}) and by {where} ({_qualname(obj)}). "
                    f"Rename one, or pass override=True to register(...) to replace it on purpose."
                )
            if self.contract is not None:
                self.contract.registered(obj)
            self._entries[key] = Entry(key, obj, where)
            return obj

        return deco

    # -- reading -----------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        populate()
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        populate()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        populate()
        return sorted(self._entries)

    def entry(self, name: str, key: str = "name") -> Entry:
        populate()
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise GankitError(
            f"{key}: unknown {self.kind} '{name}'.{hint} Registered {self.plural}: "
            f"{', '.join(self.names()) or '(none)'}. A component of your own must be "
            f"registered by a module named in the recipe's `plugins:` list or by an installed plugin package."
        )

    def get(self, name: str) -> Callable:
        return self.entry(name).obj

    # -- building ----------------------------------------------------------------
    def check(self, node: Mapping[str, Any] | None, key: str, context: Mapping[str, Any] = (), *,
              args_key: str | None = None, inherited: Mapping[str, str] = {}) -> list[str]:
        """Every problem with a recipe node ``{name: ..., **kwargs}``, as messages.

        Names in ``context`` are supplied by the run, so they are not required of the node.
        ``args_key`` is where the arguments live in the recipe when not beside ``name``
        (an optimizer's ``optim.g.args``); messages about them name it. ``inherited`` maps the
        arguments the node kept from a ``base:`` recipe to that file (they get ``key: null`` as the fix).
        """
        args_key = args_key or key
        if node is None or not isinstance(node, Mapping):
            return [f"{key}: expected a mapping like {{name: ..., <arguments>}}, got {node!r}."]
        if "name" not in node or node["name"] is None:
            return [f"{key}.name: missing. Choose one of: {', '.join(self.names())}."]
        try:
            entry = self.entry(node["name"], f"{key}.name")
        except GankitError as e:
            return [str(e)]
        params = entry.parameters()
        kwargs = _kwargs(node, params)
        problems = []
        accepted = ", ".join(_describe(p) for p in params.values() if p.name not in context) or "(none)"
        if not entry.accepts_any_kwarg():
            for k in kwargs:
                if k in params:
                    continue
                if k in inherited:
                    problems.append(
                        f"{args_key}.{k}: inherited from the base recipe {inherited[k]}, but {self.kind} "
                        f"'{entry.name}' has no argument '{k}'. Drop it here with `{k}: null` under {args_key}: "
                        f"(or {args_key}.{k}=null). Accepted arguments: {accepted}."
                    )
                    continue
                close = difflib.get_close_matches(k, list(params), n=1, cutoff=0.6)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                problems.append(
                    f"{args_key}.{k}: {self.kind} '{entry.name}' has no argument '{k}'.{hint} "
                    f"Accepted arguments: {accepted}."
                )
        for k, v in kwargs.items():
            expected = expected_type(v, params[k].annotation) if k in params else None
            if expected:
                problems.append(f"{args_key}.{k}: {self.kind} '{entry.name}' expects {expected}, got {v!r}.")
        for p in params.values():
            if p.default is p.empty and p.name not in kwargs and p.name not in context:
                problems.append(
                    f"{args_key}.{p.name}: missing required argument of {self.kind} '{entry.name}'. "
                    f"Accepted arguments: {accepted}."
                )
        return problems

    def build(self, node: Mapping[str, Any], key: str, context: Mapping[str, Any] | None = None, *,
              args_key: str | None = None, **extra):
        """Build the component a recipe node names.

        ``context`` holds values the run supplies (such as ``img_shape`` from the data):
        each is passed only if the constructor accepts it and the recipe did not set it.
        """
        context = dict(context or {})
        if isinstance(node, DictConfig):
            node = OmegaConf.to_container(node, resolve=True)
        problems = self.check(node, key, context, args_key=args_key)
        if problems:
            raise GankitError.collect(problems)
        entry = self.entry(node["name"], f"{key}.name")
        params = entry.parameters()
        kwargs = _kwargs(node, params)
        for k, v in context.items():
            if k not in kwargs and (k in params or entry.accepts_any_kwarg()):
                kwargs[k] = v
        kwargs.update(extra)
        try:
            obj = entry.obj(**kwargs)
        except REJECTIONS as e:  # the component's (or torch's) own word on a value it cannot use
            raise rejected(self.kind, entry.name, args_key or key, _kwargs(node, params), kwargs, e) from None
        return obj if self.contract is None else self.contract.conform(obj, key, self.kind, entry.name)


def _kwargs(node: Mapping[str, Any], params: Mapping[str, inspect.Parameter]) -> dict:
    """The node's arguments; ``key: null`` for an argument the component lacks means "drop it"
    (so a recipe can switch a component away from a base recipe's arguments)."""
    return {k: v for k, v in node.items() if k != "name" and not (v is None and k not in params)}


def _describe(p: inspect.Parameter) -> str:
    ann = p.annotation
    t = "" if ann is p.empty else f": {getattr(ann, '__name__', None) or str(ann).replace('typing.', '')}"
    d = "" if p.default is p.empty else f" = {p.default!r}"
    return f"{p.name}{t}{d}"


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"


def _origin_of(obj) -> str:
    mod = getattr(obj, "__module__", "") or ""
    if mod == "gankit" or mod.startswith("gankit."):
        return "built-in"
    module = sys.modules.get(mod)
    path = getattr(module, "__file__", None)
    return f"file {path}" if path else f"module {mod}"


GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
LOSSES = Registry("loss", "losses")
PENALTIES = Registry("penalty", "penalties")
AUGMENTS = Registry("augment")
AUGMENT_POLICIES = Registry("augment policy", "augment policies")
DATASETS = Registry("dataset")
METRICS = Registry("metric")
FEATURES = Registry("feature extractor")
OPTIMIZERS = Registry("optimizer")
SCHEDULES = Registry("schedule")
NORMS = Registry("norm")
SIDE_JOBS = Registry("side job")

ALL = {
    "generators": GENERATORS,
    "discriminators": DISCRIMINATORS,
    "losses": LOSSES,
    "penalties": PENALTIES,
    "augments": AUGMENTS,
    "augment_policies": AUGMENT_POLICIES,
    "datasets": DATASETS,
    "metrics": METRICS,
    "features": FEATURES,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
    "norms": NORMS,
    "side_jobs": SIDE_JOBS,
}
