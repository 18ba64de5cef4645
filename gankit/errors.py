"""The one user-facing error type, and making text safe to print."""
import re


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


# Terminal escape sequences (CSI, OSC, other ESC sequences), C0/C1 controls but newline and tab, and
# the Unicode bidirectional overrides: text from a recipe or a file must not drive the terminal.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without terminal control sequences, for printing (line breaks and tabs stay)."""
    return _ESCAPES.sub("", str(text))
