"""Subcommands of the `coach` CLI, one module per area, each with `register(subparsers)`."""
