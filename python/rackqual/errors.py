"""The package's one input error, its commands' exit codes, and how a command refuses its input.

Every command (python -m rackqual ingest | compare | report | sweep) exits
    0  EXIT_PASS       success: everything passed, nothing regressed, the file written
    1  EXIT_FAIL       some check failed, where the command judges (compare: something regressed;
                       sweep: a rack failed)
    2  EXIT_BAD_INPUT  bad input or set-up: a missing, unreadable or malformed file or folder, a
                       wrong option; one line on stderr, `path: what is wrong` (an option's error
                       `rackqual COMMAND: what is wrong`), and nothing written
    3  EXIT_ERROR      an error during the run (a write that failed, a rack's run that errored)

A leaf: it imports nothing else from the package, so any module may import it.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["BadInput", "ArgumentParser", "EXIT_PASS", "EXIT_FAIL", "EXIT_BAD_INPUT", "EXIT_ERROR", "first_line",
           "describe", "refuse"]

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_BAD_INPUT = 2
EXIT_ERROR = 3


class BadInput(ValueError):
    """Input a command cannot use (results, a history, an inventory, an output path, an option):
    `path: what is wrong`. A command exits 2 on it."""


def first_line(error: BaseException) -> str:
    """An error's message on one line: its first, or its type's name where it has none."""
    message = str(error).strip()
    return message.splitlines()[0] if message else type(error).__name__


def describe(error: BaseException) -> str:
    """An error as one line, `path: what is wrong` where it is the system's about a file."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or first_line(error)}"
    return first_line(error)


def refuse(error: BaseException) -> int:
    """Says on one line of stderr what is wrong with the input; returns the exit code, 2."""
    print(describe(error), file=sys.stderr)
    return EXIT_BAD_INPUT


class ArgumentParser(argparse.ArgumentParser):
    """A command's parser whose errors are one line, `PROG: message`, raised as BadInput (exit 2)
    instead of the usage and an exit; --help still prints and exits 0."""

    def error(self, message: str) -> None:
        raise BadInput(f"{self.prog}: {message}")
