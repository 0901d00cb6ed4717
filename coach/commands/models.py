"""`coach model install ...` and `coach model list`. Registered by coach/commands/ears.py through
`register_model(sub)`; the only command that may open a network connection (a download, when asked)."""

from __future__ import annotations

import argparse
import json


def register_model(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="install or list vosk speech models")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")

    inst = msub.add_parser(
        "install",
        help="install a vosk model: 'en' (download), a .zip, a model folder or a URL",
        description="Install a vosk model into the coach's data folder. 'en' downloads "
        "vosk-model-small-en-us-0.15 (40 MB, Apache-2.0) and checks its SHA-256; a .zip, a folder "
        "or an http(s) URL installs that model. The only command that uses the network.",
    )
    inst.add_argument("source", metavar="en|ZIP|DIR|URL")
    inst.add_argument(
        "--lang", help="language code of the model (guessed from its name if omitted)"
    )
    inst.add_argument("--force", action="store_true", help="replace a model of the same name")
    inst.add_argument("--sha256", help="checksum the .zip or download must have")
    inst.add_argument(
        "--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)"
    )
    inst.set_defaults(func=run_install)

    lst = msub.add_parser("list", help="the vosk models the coach can use")
    lst.add_argument("--json", action="store_true", help="one JSON object per model")
    lst.set_defaults(func=run_list)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_install(args: argparse.Namespace) -> int:
    from coach.listening.model_install import install

    info = install(
        args.source, args.lang, force=args.force, timeout=args.timeout, sha256=args.sha256
    )
    print(f"installed {info.name} ({info.lang}, {info.size_bytes / 1e6:.0f} MB) at {info.path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from coach.listening.models import installed_models

    models = installed_models()
    if args.json:
        for m in models:
            print(
                json.dumps(
                    {
                        "lang": m.lang,
                        "name": m.name,
                        "path": str(m.path),
                        "size_bytes": m.size_bytes,
                        "source": str(m.source),
                    },
                    ensure_ascii=False,
                )
            )
        return 0
    if not models:
        print("no vosk models installed (the pocketsphinx engine needs none, for English)")
        print("install one with: coach model install en   (or a .zip, a folder, a URL)")
        return 0
    print(f"{'lang':<5} {'name':<32} {'size':>8}  {'source':<9} path")
    for m in models:
        print(f"{m.lang:<5} {m.name:<32} {m.size_bytes / 1e6:6.0f} MB  {m.source:<9} {m.path}")
    return 0
