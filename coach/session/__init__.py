"""The session stage: the pure state machine of a coached session.

machine (the Session: events in — a cue played, a detection, a tick — frozen actions out),
actions, phrasebook (every phrase a session may say, rendered before the first word), safety
(the pain advice and the alternative), dose, mic_outage, program_session and program_flow (a
program's sequence of exercises). No audio, no clock of its own, no files: the app drives it.
"""

from __future__ import annotations

from coach.session.actions import Action
from coach.session.machine import Session, State
from coach.session.program_session import ProgramSession

__all__ = ["Action", "ProgramSession", "Session", "State"]
