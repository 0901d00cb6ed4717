"""The ears area's commands. For now only `coach model ...` (from coach/commands/models.py); the
ears engineer adds `coach hear` here."""

from __future__ import annotations

import argparse

from .models import register_model


def register(sub: argparse._SubParsersAction) -> None:
    register_model(sub)
