"""`coach history --chart`: practice over time as a PNG or SVG (matplotlib, Agg back end).

Imported only when a chart is asked for: matplotlib takes about a second to import. Top panel:
sessions per day (completed / other), the daily dose as a dashed line when one routine is shown
(routines have their own doses: with several, no single line would be right), pain reports marked.
Bottom panel: reps per day, per side for exercises with sides and as one count for those without
(counted once, not in both side bars). The file is written atomically.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

from coach.errors import UsageError
from coach.history.export import atomic_write_bytes
from coach.history.records import EndReason
from coach.history.report import Report, per_day_for, routine_name

FORMATS = {".png": "png", ".svg": "svg"}
MAX_BARS = 62  # days; a longer range is drawn as steps


def chart_format(path: Path) -> str:
    """png or svg from the file name; anything else is a usage error (before any work)."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: cannot tell the chart format from the extension "
            f"{Path(path).suffix or '(none)'!r}",
            hint="name the file .png or .svg",
        )
    return fmt


def _day_range(r: Report) -> list[date]:
    tz = r.now.tzinfo
    today = r.now.date()
    if r.days is not None:
        first = today - timedelta(days=r.days - 1)
    elif r.sessions:
        first = min(s.started.astimezone(tz).date() for s in r.sessions)
    else:
        first = today - timedelta(days=6)
    first = min(first, today - timedelta(days=6))  # at least a week, so one day is not a wall
    return [first + timedelta(days=i) for i in range((today - first).days + 1)]


def dose_line(r: Report) -> tuple[int, str] | None:
    """(sessions a day, routine name) for the dashed dose line: only when the chart shows one
    routine (`--routine`, or a history of one routine); None when it shows several or none."""
    shown = {r.routine} if r.routine else {s.routine for s in r.sessions}
    if len(shown) != 1:
        return None
    (routine,) = shown
    d = next((x for x in r.dose if x.routine == routine), None)
    if d is not None:
        return d.per_day, d.name or routine
    return per_day_for(routine), routine_name(routine)


def chart_data(r: Report) -> dict[str, list]:
    """Per local day: completed and other sessions, reps left/right (routines with sides), reps
    of routines without sides (once: their records may carry the count on one or both sides),
    pain reports."""
    tz = r.now.tzinfo
    days = _day_range(r)
    index = {d: i for i, d in enumerate(days)}
    done = [0] * len(days)
    other = [0] * len(days)
    left = [0] * len(days)
    right = [0] * len(days)
    unsided = [0] * len(days)
    pain = [0] * len(days)
    for s in r.sessions:
        i = index.get(s.started.astimezone(tz).date())
        if i is None:
            continue
        if s.end_reason == EndReason.COMPLETED:
            done[i] += 1
        else:
            other[i] += 1
        if s.routine in r.unsided:
            unsided[i] += max(s.reps_left, s.reps_right)
        else:
            left[i] += s.reps_left
            right[i] += s.reps_right
    for p in r.pain_reports:
        i = index.get(p.when.astimezone(tz).date())
        if i is not None:
            pain[i] += 1
    return {
        "days": days,
        "done": done,
        "other": other,
        "left": left,
        "right": right,
        "unsided": unsided,
        "pain": pain,
    }


def render_chart(r: Report, fmt: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: no global figure registry to leak into

    data = chart_data(r)
    days, done, other, pain = data["days"], data["done"], data["other"], data["pain"]
    left, right, unsided = data["left"], data["right"], data["unsided"]
    dose = dose_line(r)

    fig = Figure(figsize=(8, 4.8), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.2))
    x = mdates.date2num(days)
    many = len(days) > MAX_BARS  # a bar per day gets slow and unreadable: draw steps instead
    if many:
        edges = np.append(x, x[-1] + 1) - 0.5
        total = np.add(done, other)
        top.stairs(total, edges, fill=True, color="#b9b9b9", label="ended early")
        top.stairs(done, edges, fill=True, color="#4c9a6a", label="completed")
    else:
        top.bar(x, done, width=0.8, color="#4c9a6a", label="completed")
        top.bar(x, other, width=0.8, bottom=done, color="#b9b9b9", label="ended early")
    if dose is not None:
        top.axhline(dose[0], color="#555", linestyle="--", linewidth=1, label="daily dose")
    px = [x[i] for i, n in enumerate(pain) if n]
    py = [done[i] + other[i] + 0.25 for i, n in enumerate(pain) if n]
    if px:
        top.scatter(px, py, marker="v", color="#c0392b", s=50, zorder=3, label="pain reported")
    top.set_ylabel("sessions")
    top.set_ylim(
        0, max(dose[0] if dose else 0, *(a + b for a, b in zip(done, other, strict=True))) + 1
    )
    top.yaxis.get_major_locator().set_params(integer=True)
    top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncols=4, frameon=False)
    title = dose[1] if dose is not None else "all routines"
    if dose is None and len({s.routine for s in r.sessions}) > 1:
        title += " (each has its own daily dose: --routine R draws it)"
    fig.suptitle(f"coach history: {title}, {days[0]:%d %b} – {days[-1]:%d %b %Y}", fontsize=10)

    series = [("left", left, "#3b6ea8"), ("right", right, "#e08a2e")] if any(left + right) else []
    if any(unsided):
        series.append(("no sides", unsided, "#7d9c5a"))
    series = series or [("left", left, "#3b6ea8"), ("right", right, "#e08a2e")]
    w = 0.8 / len(series)
    for k, (label, values, color) in enumerate(series):
        if many:
            bottom.stairs(values, edges, color=color, label=label, linewidth=1.2)
        else:
            bottom.bar(
                x + (k - (len(series) - 1) / 2) * w, values, width=w, color=color, label=label
            )
    for xi in px:
        bottom.axvline(xi, color="#c0392b", alpha=0.35, linewidth=1)
    bottom.set_ylabel("reps")
    bottom.set_title(
        "reps per day: per side, and once for exercises without sides", fontsize=8, loc="right"
    )
    bottom.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncols=3, frameon=False)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator) if many else mdates.DateFormatter("%d %b")
    )
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None}
    fig.savefig(buf, format=fmt, dpi=100, metadata=meta)
    return buf.getvalue()


def write_chart(r: Report, path: Path) -> None:
    fmt = chart_format(path)
    atomic_write_bytes(Path(path), render_chart(r, fmt))
