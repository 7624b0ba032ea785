"""The score-progression chart, drawn as SVG by the server (no JavaScript library needed)."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from scoring.progression import Series

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 720, 360, 64, 150, 24, 40
# Colour-blind-safe palette (Okabe–Ito), each with a distinct dash pattern too.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
DASHES = ["", "6 3", "2 3", "10 4 2 4", "1 2", "8 2", "4 4"]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def progression_svg(series: list[Series], *, title: str, now: datetime, empty_text: str) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="chart-title" font-family="system-ui, sans-serif" font-size="13">'
        f'<title id="chart-title">{escape(title)}</title><rect width="100%" height="100%" fill="#fff"/>'
    )
    if not series:
        return (
            head
            + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(empty_text)}</text></svg>'
        )
    times = [p.at.timestamp() for s in series for p in s.points] + [now.timestamp()]
    values = [p.best for s in series for p in s.points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    if v1 == v0:  # one value: a narrow band around it (±0.5 drew an AUC axis up to 1.447)
        pad = abs(v0) * 0.05 or 0.05
        v0, v1 = v0 - pad, v1 + pad
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t: float) -> float:
        return PAD_LEFT + (t - t0) / ((t1 - t0) or 1) * plot_w

    def y(v: float) -> float:
        return PAD_TOP + (1 - (v - v0) / (v1 - v0)) * plot_h

    parts = [head]
    for i in range(5):  # horizontal grid with score labels
        value = v0 + (v1 - v0) * i / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    for t, anchor in ((t0, "start"), (t1, "end")):
        label = datetime.fromtimestamp(t, tz=now.tzinfo).strftime("%d %b %H:%M")
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}">{label}</text>')
    for i, s in enumerate(series):
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
        coords = []
        for j, point in enumerate(s.points):  # a step line: the best holds until it improves
            if j:
                coords.append(f"{x(point.at.timestamp()):.1f},{y(s.points[j - 1].best):.1f}")
            coords.append(f"{x(point.at.timestamp()):.1f},{y(point.best):.1f}")
        coords.append(f"{x(t1):.1f},{y(s.best):.1f}")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="3"{dash_attr} points="{" ".join(coords)}">'
            f"<title>{escape(s.team)}: {_fmt(s.best)}</title></polyline>"
        )
        ly = PAD_TOP + 18 + i * 22
        parts.append(
            f'<line x1="{WIDTH - PAD_RIGHT + 12}" x2="{WIDTH - PAD_RIGHT + 40}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="3"{dash_attr}/>'
            f'<text x="{WIDTH - PAD_RIGHT + 46}" y="{ly}">{escape(s.team[:14])} {_fmt(s.best)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
