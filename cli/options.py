"""Global options (``--store``, ``--json``, ...) accepted before and after the command.

``kgrec stats --json`` means ``kgrec --json stats``: before parsing, the top-level group
moves every global option it finds after the command name to the front. The global options
are the top-level group's own options, so they are declared once (in ``main.py``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


def hoist_options(args: list[str], flags: set[str], valued: set[str]) -> list[str]:
    """``args`` with the given options (and the values of ``valued`` ones) moved to the
    front, in the order typed; everything from a ``--`` on is left as it is.

    Args:
        args: the command line after the program name.
        flags: options without a value (``--json``, ``-q``).
        valued: options followed by a value (``--store DIR``, or ``--store=DIR``).
    """
    front: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            rest.extend(args[position:])
            break
        if arg in flags or arg.split("=", 1)[0] in valued and "=" in arg:
            front.append(arg)
        elif arg in valued and position + 1 < len(args):
            front.extend(args[position : position + 2])
            position += 1
        else:
            rest.append(arg)
        position += 1
    return front + rest


class GlobalOptionsGroup(TyperGroup):
    """The top-level group: its options may also be typed after the command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        flags: set[str] = set()
        valued: set[str] = set()
        for param in self.params:
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            if getattr(param, "is_eager", False) or not names:
                continue  # --help, --version: eager, and only meaningful up front
            (flags if getattr(param, "is_flag", False) else valued).update(names)
        return super().parse_args(ctx, hoist_options(list(args), flags, valued))
