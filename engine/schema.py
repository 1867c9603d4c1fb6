"""The torch-free vocabulary every registry and the spec share: `Param` (one setting with its
default, bounds, choices and help) and `Registry` (name -> entry, the only table of its kind).

Nothing here imports torch or another engine module, so the spec, the URL codec and the
pages can validate and describe settings without loading PyTorch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def excerpt(value: Any, limit: int = 40) -> str:
    """A short, escaped excerpt of a value for a message: repr() escapes newlines and control
    characters, and a huge input is cut (a message never echoes a whole field)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number with {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def clip(text: str, limit: int = 60) -> str:
    """A name or field path from the user's input as a message shows it: control characters
    escaped, at most `limit` characters."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    lo: float | None = None        # inclusive bounds for numbers
    hi: float | None = None
    choices: tuple = ()            # allowed values for strings
    help: str = ""

    @property
    def type(self) -> type:
        return type(self.default)

    def problem(self, value: Any) -> str | None:
        """None when `value` fits this parameter, else a sentence saying what is wrong."""
        t = self.type
        ok_type = isinstance(value, t) and not (t is int and isinstance(value, bool))
        if t is float and isinstance(value, int) and not isinstance(value, bool):
            ok_type = True
        if not ok_type:
            return f"must be {t.__name__}, got {type(value).__name__} {excerpt(value)}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {excerpt(value)}"
        if t in (int, float):
            try:
                finite = math.isfinite(value)            # an int too large for a float overflows here
            except OverflowError:
                finite = False
            if not finite:
                return f"must be a finite number, got {excerpt(value)}"
            if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
                return f"must be between {self.lo:g} and {self.hi:g}, got {excerpt(value)}"
        return None


class Registry(dict, Generic[T]):
    """name -> entry for one kind of thing (layer, dataset, optimizer, loss, task). An entry
    carries everything about itself; every consumer reads it from here, so a new entry is
    one `register` call in one file (or in a test)."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what                       # "layer kind", "dataset", ... for messages

    def register(self, entry: T) -> T:
        self[entry.name] = entry
        return entry

    def unknown(self, name: Any, limit: int = 160) -> str:
        """The sentence for a name that is not registered, listing the known ones (the first of
        them and how many more, when the whole list would be over `limit` characters)."""
        known = ", ".join(self)
        if len(known) > limit:
            shown = known[:limit].rsplit(", ", 1)[0]
            known = f"{shown} and {len(self) - shown.count(', ') - 1} more"
        return f"unknown {self.what} {excerpt(name)} (known: {known})"
