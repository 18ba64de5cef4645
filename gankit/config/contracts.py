"""What the training loop may ask of a component: contracts, and components written without them.

Each kind's contract is a ``typing.Protocol`` in its own module, with a default for every optional
member (penalty: ``gankit.losses.base``, augment: ``gankit.training.augment_base``, metric and
feature extractor: ``gankit.metrics.base``, side job: ``gankit.training.side_jobs``). A component
that subclasses it gets those defaults; the loop calls only what the contract declares.

``Contract`` ties a protocol to its registry (``Registry.follow``): a component built from it that
subclasses the protocol is used as it is; one written against the members by name (duck typing)
is seen through a ``view`` (its own members where it has them, the protocol's defaults for the
rest); one that lacks a required member is refused, once, when it is built, with a GankitError
naming the member. Like ``registry`` this module imports nothing of gankit but the error type.
"""
from typing import Any, Callable, Protocol

from gankit.errors import GankitError


class Part(Protocol):
    """The members a part of the training step (penalty, augment, side job) may have beside its own."""

    logged: tuple[str, ...] = ()  # attributes (numbers) shown in every metrics row as ``<part>.<attribute>``
    adapted: dict[str, str] = {}  # attributes the part sets itself → how to stop it (a schedule may not set them)

    @property
    def stateful(self) -> bool:
        """Whether the run saves ``state_dict()`` in every checkpoint and restores it on resume:
        True when the class has a ``state_dict`` of its own (set ``stateful`` to say otherwise: e.g.
        ``stateful = False`` for an ``nn.Module`` part, whose ``state_dict`` holds tensors, not JSON)."""
        return type(self).state_dict is not Part.state_dict

    def state_dict(self) -> dict:
        """The part's state as JSON-able data (numbers, lists, strings); a stateless part has none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` gave (a resumed run continues exactly where it stopped)."""


def members(proto: type) -> tuple[str, ...]:
    """The members a protocol declares (its annotations, methods and properties; ``__call__`` too),
    its own and those of the protocols it extends."""
    found: dict[str, None] = {}
    for cls in reversed(proto.__mro__):
        if not getattr(cls, "_is_protocol", False) or cls is Protocol:
            continue
        found.update(dict.fromkeys(getattr(cls, "__annotations__", {})))
        found.update(dict.fromkeys(n for n in vars(cls) if n == "__call__" or not n.startswith("_")))
    return tuple(found)


class _View:
    """A component seen through its contract: reads and writes of anything else go to the component."""

    def __init__(self, inner: Any):
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str):  # only for names neither the view nor the protocol has
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value) -> None:  # e.g. a schedule setting an argument
        setattr(self._inner, name, value)

    def __repr__(self) -> str:
        return repr(self._inner)


def _forward(name: str) -> property:
    return property(lambda self: getattr(self._inner, name))


_views: dict = {}


def view(obj: Any, proto: type) -> Any:
    """``obj`` as an instance of ``proto``: its own members where it has them, the defaults elsewhere."""
    has = frozenset(m for m in members(proto) if hasattr(obj, m))
    key = (proto, type(obj), has)
    if key not in _views:
        _views[key] = type(type(obj).__name__, (_View, proto), {m: _forward(m) for m in has})
    return _views[key](obj)


class Contract:
    """The contract of one registry's components: its protocol, and what each one must provide.

    ``required(obj)`` gives the members ``obj`` lacks and must have, each as the text that names it
    (e.g. ``"__call__(x)"``); ``registered(obj)`` (optional) checks or completes a registered
    class or factory when it is registered."""

    def __init__(self, proto: type, required: Callable[[Any], list[str]],
                 registered: Callable[[Any], Any] | None = None):
        self.proto, self.required, self.registered = proto, required, registered or (lambda obj: obj)

    def conform(self, obj: Any, key: str, kind: str, name: str) -> Any:
        """``obj`` (just built from ``key``) as a component the loop can use, or a GankitError."""
        missing = self.required(obj)
        if missing:
            what = f"{self.proto.__module__}.{self.proto.__name__}"
            raise GankitError(
                f"{key}.name: {kind} '{name}' ({type(obj).__name__}) has no {' and no '.join(missing)}, which the "
                f"run calls. Add {'it' if len(missing) == 1 else 'them'} to the {kind}, or subclass {what}, which "
                f"declares every member a {kind} may have, with defaults for the optional ones.")
        return obj if self.proto in type(obj).__mro__ else view(obj, self.proto)


def stand_in(method: Callable) -> Callable:
    """Marks a protocol's method that stands in for one each component gives itself (it raises, or
    does nothing): ``lacks`` counts a component that kept it as lacking that member."""
    method.stand_in = True
    return method


def lacks(obj: Any, *names: str) -> list[str]:
    """The members among ``names`` (written ``name(args)`` for a method) that ``obj`` has not: absent,
    not callable where a method is meant, or the protocol's ``stand_in``."""
    found = []
    for text in names:
        name, _, args = text.partition("(")
        value = getattr(obj, name, None) if name != "__call__" or callable(obj) else None
        if value is None or (args and not callable(value)) or getattr(value, "stand_in", False):
            found.append(text)
    return found

