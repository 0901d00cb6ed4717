"""What a person reads on the terminal and in the demo's timeline: events in words, never a Python
dict or `key=value` repr. The event shapes are the runner's (README "Events file")."""

from __future__ import annotations

import contextlib
import io
import os
import re

from coach.app.demo import timeline_lines
from coach.app.display import Display, describe_event

# A pain, then yes, then the alternative (unsided) ends completed: the README's example, extended.
EVENTS = [
    {"t": 0.0, "type": "state", "state": "checking-mic"},
    {"t": 3.1, "type": "command", "intent": "ready", "phrase": "i'm ready"},
    {"t": 40.0, "type": "tempo", "bpm": 8.0},
    {"t": 71.4, "type": "command", "intent": "pain", "phrase": "pain"},
    {"t": 71.4, "type": "state", "state": "offering"},
    {"t": 72.04, "type": "cue", "text": "Stop moving, and rest in a comfortable position."},
    {"t": 103.2, "type": "command", "intent": "yes", "phrase": "yes"},
    {
        "t": 103.2,
        "type": "ended",
        "reason": "pain",
        "reps": {"left": 1, "right": 2},
        "suggestion": "diaphragmatic-breathing",
    },
    {"t": 103.2, "type": "started", "routine": "diaphragmatic-breathing"},
    {"t": 190.0, "type": "ended", "reason": "completed", "reps": {"left": 5, "right": 5}},
    {"t": 191.0, "type": "ended", "reason": "stopped", "reps": {"left": 0, "right": 1},
     "suggestion": None},
]  # fmt: skip

REPR = re.compile(r"[{}\[\]]|'\w+':|\w=|\bNone\b")  # a dict, a list, key=value, None


def reprs(lines: list[str]) -> list[str]:
    """The lines that show a Python repr after their own `[coach] `/`[state] ` label."""
    return [x for x in lines if REPR.search(re.sub(r"^\[[\w-]+\] ", "", x))]


def test_each_event_reads_as_words() -> None:
    d = {e["type"] + str(i): e for i, e in enumerate(EVENTS)}
    text = {k: describe_event(e["type"], {x: v for x, v in e.items() if x not in ("t", "type")})
            for k, e in d.items()}  # fmt: skip
    assert text["state0"] == "checking that it can hear you"
    assert text["command1"] == 'heard "i\'m ready" (ready)'
    assert text["tempo2"] == "8 breaths a minute"
    assert text["command3"] == 'heard "pain"'
    assert text["ended7"] == "pain; reps right 2, left 1; suggested diaphragmatic-breathing"
    assert text["started8"] == "diaphragmatic-breathing begins"
    assert text["ended10"] == "stopped; reps right 1, left 0"
    assert describe_event("ended", {"reason": "completed", "reps": {"left": 5, "right": 5}},
                          sided=False) == "completed; 5 reps"  # fmt: skip
    assert describe_event("fault", {"error": "x", "where": None, "n": [1, 2]}) == (
        "error x; where none; n 1, 2"
    )


def test_plain_lines_have_no_python_reprs() -> None:
    out = io.StringIO()
    display = Display(out, plain=True)
    display.routine = "trunk-rotation"
    for e in EVENTS:
        if e["type"] == "started":
            display.routine = e["routine"]
        display.event(e["t"], e["type"], {k: v for k, v in e.items() if k not in ("t", "type")})
    lines = out.getvalue().splitlines()
    assert lines[0] == "[coach] 00:00.0 state: checking that it can hear you"
    assert (
        "[coach] 01:43.2 ended: pain; reps right 2, left 1; suggested diaphragmatic-breathing"
        in lines
    )
    assert "[coach] 03:10.0 ended: completed; 5 reps" in lines  # unsided: one count, not 5/5
    assert not reprs(lines), lines


def test_status_line_end_and_start_lines_are_words() -> None:
    out = io.StringIO()
    display = Display(out, plain=False)
    display.routine = "trunk-rotation"
    display.event(191.0, "ended", {"reason": "stopped", "reps": {"left": 0, "right": 1},
                                   "suggestion": None})  # fmt: skip
    shown = out.getvalue()
    assert "03:11.0 ended: stopped; reps right 1, left 0\n" in shown
    assert "reason=" not in shown and "{" not in shown and "None" not in shown


def test_demo_timeline_is_words() -> None:
    lines = [line for _t, line in timeline_lines(EVENTS, "trunk-rotation")]
    assert lines[0] == "[state] checking that it can hear you"
    assert "coach: Stop moving, and rest in a comfortable position." in lines
    assert "[ended] pain; reps right 2, left 1; suggested diaphragmatic-breathing" in lines
    assert "[ended] completed; 5 reps" in lines  # the alternative has no sides
    assert not reprs(lines), lines


def screen(written: str) -> list[str]:
    """What a terminal shows for `written`: each "\\r" goes back to the start of the line and
    what follows overwrites it."""
    lines = []
    for raw in written.split("\n"):
        shown = ""
        for part in raw.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return lines


def test_the_status_line_goes_when_the_session_ends() -> None:
    """Issue #13: "ended | side left | rep 2/5 | exhale" stayed on the screen after the end."""
    out = io.StringIO()
    display = Display(out, plain=False)
    display.routine, display.bpm = "trunk-rotation", 6.0
    display.event(30.0, "state", {"state": "exercising"})
    display.beat("left", 2, 5, "exhale")
    assert "| side left | rep 2/5 | exhale |" in screen(out.getvalue())[-1]
    display.event(41.0, "command", {"intent": "stop", "phrase": "stop"})
    display.event(41.0, "ended", {"reason": "stopped", "reps": {"left": 1, "right": 2},
                                  "suggestion": None})  # fmt: skip
    display.event(41.0, "state", {"state": "ended"})
    display.beat(None, 0, 5, "-")  # the runner may still report a beat
    display.close()
    out.write("coach: session ended: stopped after 0:41\n")  # what `coach run` prints next
    shown = [line for line in screen(out.getvalue()) if line]
    assert shown[-2:] == [
        "00:41.0 ended: stopped; reps right 2, left 1",
        "coach: session ended: stopped after 0:41",
    ], shown
    assert not any("| ended |" in line for line in shown), shown


def test_the_status_line_comes_back_for_the_alternative_and_after_a_late_pain() -> None:
    out = io.StringIO()
    display = Display(out, plain=False)
    display.routine = "trunk-rotation"
    display.event(9.0, "ended", {"reason": "pain", "reps": {"left": 0, "right": 1},
                                 "suggestion": "pelvic-tilt"})  # fmt: skip
    display.event(9.0, "started", {"routine": "pelvic-tilt"})
    display.event(9.0, "state", {"state": "positioning"})
    assert screen(out.getvalue())[-1].startswith("pelvic-tilt | positioning |")
    display.event(20.0, "ended", {"reason": "stopped", "reps": {"left": 0, "right": 0}})
    display.event(20.0, "state", {"state": "ended"})
    assert screen(out.getvalue())[-1] == ""
    display.event(21.0, "state", {"state": "offering"})  # pain said right after the stop
    assert screen(out.getvalue())[-1].startswith("pelvic-tilt | offering |")


def test_a_closed_terminal_makes_the_display_quiet_not_the_session_fail() -> None:
    """After the window is closed (a real pty hung up) every write fails with EIO."""
    master, slave = os.openpty()
    os.close(master)  # the terminal window goes
    tty = os.fdopen(slave, "w")
    try:
        display = Display(tty, plain=False)
        display.routine = "trunk-rotation"
        display.event(1.0, "state", {"state": "checking-mic"})  # would raise OSError (EIO)
        display.event(2.0, "ended", {"reason": "stopped", "reps": {"left": 0, "right": 0}})
        display.close()
        assert display.quiet
        plain = Display(tty, plain=True)
        plain.progress("preparing speech", 0, 10)
        plain.event(1.0, "cue", {"text": "Say ready."})
        assert plain.quiet
    finally:
        with contextlib.suppress(OSError):  # its buffer still holds what could not be written
            tty.close()


def test_the_microphone_going_and_coming_back_is_one_line_each() -> None:
    """On a terminal the status line is interrupted by a line of its own for each (issue #13)."""
    why = "the microphone 'mic' went away (the sound server switched to 'speaker.monitor')"
    out = io.StringIO()
    display = Display(out, plain=False)
    display.routine = "trunk-rotation"
    display.event(7.5, "mic-lost", {"why": why, "wait_s": 120.0})
    display.event(7.5, "state", {"state": "paused"})
    display.event(16.2, "mic-back", {"after_s": 8.74})
    lines = screen(out.getvalue())
    assert f"00:07.5 mic-lost: {why}; waiting 120 s for it" in lines
    assert "00:16.2 mic-back: the microphone is back after 8.7 s" in lines
    plain = io.StringIO()
    Display(plain, plain=True).event(16.2, "mic-back", {"after_s": 8.74})
    assert plain.getvalue() == "[coach] 00:16.2 mic-back: the microphone is back after 8.7 s\n"
