"""The ``chainrule`` command line: each subcommand parses arguments and calls one function."""

from .main import main

__all__ = ["main"]
