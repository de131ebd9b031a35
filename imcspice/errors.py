"""The one base class of imcspice's user-facing errors.

An :class:`ImcspiceError` means "the input is wrong" (a parameter out of range, a malformed
spec or description file, a raw or model file that is not ours, an output that would be
overwritten): the command line reports it in one line with exit code 2. Every other
exception escaping a command is a bug and keeps its traceback (``imcspice.cli.main``).

Project error classes derive from it; those that existing callers catch as ``ValueError``,
``KeyError`` or ``RuntimeError`` keep that class as a second base, so ``except ValueError``
still works where it was written.
"""
from __future__ import annotations


class ImcspiceError(Exception):
    """A user-facing input error: its message is one line that names what to change."""


class UsageError(ImcspiceError, ValueError):
    """Command-line arguments that contradict each other or are missing."""


class UnknownNameError(ImcspiceError, KeyError):
    """A name (recipe, default model, model output, form) that does not exist. The message
    lists what does; unlike ``KeyError`` it prints without quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(ImcspiceError, ValueError):
    """A value the user gave (a corner, a temperature, a list, a file's content) is invalid,
    where no more specific project error applies."""


class ArchError(ImcspiceError, ValueError):
    """An architecture description is unusable; the message names the file, component and
    field."""
