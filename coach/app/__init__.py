"""The app: puts the pipeline together and runs it.

session_run (the composition root: options → a running session), runner (the audio loop: blocks
in and out, the session's actions applied), check and check_words (`coach check`), demo,
display, events_file, interrupts (Ctrl-C and SIGTERM), mic_watchdog, safety_words.

The face re-exports nothing: the CLI imports `coach.app.interrupts` on every command, and
`coach --help` must not pay for the runner's imports.
"""
