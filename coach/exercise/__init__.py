"""The exercise stage: routines and programs as validated data, and how their cues sit on the breath.

routine (the TOML routines), program (sequences of routines), tempo (the breath grid),
choreography (cues fitted to breath phases), tones (the breath tones), spoken (how counts and
motions are said). Nothing here hears, speaks or plays: it is what the session is made from.
"""

from __future__ import annotations

from coach.exercise.program import Program, find_program
from coach.exercise.routine import Routine, get_routine, load_library
from coach.exercise.tempo import BreathGrid, Tempo

__all__ = ["BreathGrid", "Program", "Routine", "Tempo", "find_program", "get_routine", "load_library"]
