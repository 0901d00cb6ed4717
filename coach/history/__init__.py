"""The history stage: every session and its events in SQLite, and what is read from them.

db (the database), records (plain values), schema, report, export, chart.
"""

from __future__ import annotations

from coach.history.db import History
from coach.history.records import EventRecord, SessionRecord

__all__ = ["EventRecord", "History", "SessionRecord"]
