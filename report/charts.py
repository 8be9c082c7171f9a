"""Charts as inline SVG, drawn by matplotlib: no script, no request, printable.

Text stays text (``svg.fonttype = none``) in DejaVu Sans, the font the report ships, so
Vietnamese names render and can be searched and copied. Every chart has a title and labelled
axes with their unit; a sparkline's title is its tooltip and its axis the 0–100 % range.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
                     "svg.hashsalt": "lienthong", "axes.spines.top": False, "axes.spines.right": False})
BAD, GOOD, MUTED = "#b3261e", "#1b6e3a", "#8a8f98"


def _svg(fig, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)
    label = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def sparkline(values: Sequence[float | None], title: str) -> str:
    """A source's pass rate per run, oldest to newest, on a 0–100 % axis."""
    fig, ax = plt.subplots(figsize=(1.9, 0.55))
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    ax.plot(xs, ys, color=GOOD if not ys or ys[-1] >= 99 else BAD, linewidth=1.2)
    if ys:
        ax.plot(xs[-1:], ys[-1:], "o", markersize=2.5, color=BAD if ys[-1] < 99 else GOOD)
    ax.set_ylim(-5, 105)
    ax.set_yticks([0, 100], ["0%", "100%"], fontsize=6)
    ax.set_xticks([])
    ax.set_xlim(-0.5, max(len(values) - 0.5, 0.5))
    ax.set_title(title, fontsize=6, loc="left")
    return _svg(fig, title)


def lines(series: dict[str, Sequence[float | None]], title: str, ylabel: str, xlabel: str) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    for name, values in series.items():
        pts = [(i, v) for i, v in enumerate(values) if v is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", markersize=3, linewidth=1.2, label=name)
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_ylim(bottom=0)
    if series:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return _svg(fig, title)


def bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
         highlight: Sequence[bool] | None = None) -> str:
    """Horizontal bars, the first label on top."""
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * max(len(labels), 2) + 0.8))
    colours = [BAD if h else MUTED for h in (highlight or [False] * len(labels))]
    ax.barh(range(len(labels)), values, color=colours)
    ax.set_yticks(range(len(labels)), [str(x)[:48] for x in labels])
    ax.invert_yaxis()
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    return _svg(fig, title)


def volume(reads: Sequence[int], usual: tuple[float, float] | None, flagged: Sequence[bool], title: str) -> str:
    """Rows read per run, the usual range shaded, runs outside it (or empty) in red."""
    fig, ax = plt.subplots(figsize=(7.5, 2.2))
    ax.bar(range(len(reads)), reads, color=[BAD if f else MUTED for f in flagged])
    if usual:
        ax.axhspan(usual[0], usual[1], color=GOOD, alpha=0.12, label="usual range")
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(title, loc="left")
    ax.set_ylabel("rows read")
    ax.set_xlabel("run (oldest → newest)")
    return _svg(fig, title)
