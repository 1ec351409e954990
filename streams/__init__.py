"""Holdwatch: watch immigration-detainer holds as they happen.

Data flow: parse -> validate (``contract``) -> case state -> rules -> alerts (``engine``),
driven by the in-process replay (``replay``) or the Faust agents (``streaming``).
"""

__version__ = "0.1.0"
