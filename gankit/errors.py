"""The one user-facing error type."""


class GankitError(Exception):
    """A mistake the user can fix: bad recipe, bad path, bad checkpoint.

    The CLI prints it as one paragraph (no traceback) and exits non-zero.
    Several problems found together are joined into one message.
    """

    def __init__(self, message: str, *, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)

    @classmethod
    def collect(cls, problems: list[str], header: str = "") -> "GankitError":
        if len(problems) == 1 and not header:
            return cls(problems[0])
        lines = [header or f"{len(problems)} problems found:"]
        lines += [f"  - {p}" for p in problems]
        return cls("\n".join(lines), problems=problems)


def raise_if(problems: list[str], header: str = "") -> None:
    """Raise one GankitError listing every problem, if there are any."""
    if problems:
        raise GankitError.collect(problems, header)


def first_line(e: Exception) -> str:
    """An exception's message, first line only (library messages can run to pages)."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
