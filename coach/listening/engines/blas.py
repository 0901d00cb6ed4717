"""One BLAS thread for the listener's process.

Why: the listener works on small vectors (a 20 ms block, a 1 s correlation window, a 1.5 s
segment's features), and numpy's OpenBLAS splits even a dot product of 16 000 samples over every
core, then keeps its worker threads spinning for the next call. Measured on the session-like stream
of scripts/bench_listener.py (the phoneme engine alone, 60 s): 9.1 s of process CPU with the
default threads, 2.1 s with one (the listener thread's own time fell too, 5.0 -> 2.1 s). The
OPENBLAS_NUM_THREADS variable works only before numpy loads, so this asks the loaded libraries.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

# the setters of the OpenBLAS builds numpy and scipy wheels carry, and of a system OpenBLAS
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = tuple(s.replace("set_", "get_") for s in _SETTERS)


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux: /proc/self/maps)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()}
    return sorted(p for p in paths if p.startswith("/"))


def _call(names: tuple[str, ...], *args: int) -> list[int]:
    """Call the first of `names` each loaded OpenBLAS has; their results."""
    import numpy  # noqa: F401  (its OpenBLAS must be loaded to be found)

    out = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int] * len(args)
                out.append(int(fn(*args) or 0))
                break
    return out


def one_thread() -> int:
    """Limit every loaded OpenBLAS to one thread; returns how many libraries were limited."""
    return len(_call(_SETTERS, 1))


def threads() -> list[int]:
    """The thread count of every loaded OpenBLAS (what one_thread set)."""
    return _call(_GETTERS)
