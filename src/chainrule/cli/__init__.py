"""The ``chainrule`` command line: each subcommand parses its arguments and calls one library function."""

from .main import main

__all__ = ["main"]
