"""The `coach` command line. Each area registers its subcommands from coach/commands/*.py, so
this file stays a switchboard. User mistakes (CoachError) become a message and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from coach import __version__
from coach.app.interrupts import SESSION_CLOSED, catch_early, disarm_early
from coach.errors import CoachError

# Modules in coach/commands with `register(subparsers)`; each keeps heavy imports inside handlers
# so that `coach --help` and the start of `coach run` stay fast.
COMMAND_MODULES = ("session", "list", "voice", "export", "ears", "history", "check", "devices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coach",
        description="A hands-free, voice-guided coach for gentle back exercises. "
        "Say 'stop' or 'pain' at any time and it falls silent.",
    )
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"coach.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:  # (before the handlers: one that fires as they are installed is caught here too)
        if argv is None:  # the program itself, not a test calling main()
            catch_early()
        code = _main(argv)
    except KeyboardInterrupt:  # a signal during the imports or the parsing: nothing had begun
        tell("coach: interrupted")
        disarm_early()
        if argv is None:  # nothing to close; the interpreter's own exit after an interrupted
            leave_now(INTERRUPTED)  # import sometimes ended it by SIGINT (exit -2, not 130)
        return INTERRUPTED
    finally:
        disarm_early()  # leaving: a signal now is only noted
    device = sys.modules.get("coach.audio.device")  # loaded only if a session opened the device
    if device is not None:
        device.exit_now_if_hung(code)  # a stream that hung on close must not hold the exit
    if code == INTERRUPTED and argv is None and SESSION_CLOSED.is_set():  # the program itself
        leave_now(code)
    return code


INTERRUPTED = 130


def leave_now(code: int) -> None:
    """After Ctrl-C/SIGTERM/SIGHUP ended a session, it is recorded and all it opened is closed,
    so leave without the interpreter's teardown: freeing the models and joining the native
    libraries' worker threads took 0.1 s idle and up to 0.7 s on a busy machine (measured, the
    larger part of signal-to-exit), time a person who pressed Ctrl-C should not wait for."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # the terminal is gone (closed: SIGHUP)
            stream.flush()
    os._exit(code)


def tell(line: str) -> None:
    """A last line on stderr. After the terminal was closed (SIGHUP) writing to it fails (EIO):
    nobody can read it then, and the exit code must still be the session's, not a traceback's,
    so stdout and stderr then go to /dev/null (later flushes, here or at exit, cannot fail)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (until the exit)


def _main(argv: Sequence[str] | None) -> int:
    from coach import netguard

    netguard.install_from_env()  # COACH_OFFLINE=1 makes any network attempt fail loudly
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CoachError as e:
        tell(f"coach: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        tell("coach: interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
