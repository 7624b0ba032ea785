"""Score progression and its SVG chart."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from scoring.progression import progression
from server.web.chart import progression_svg

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


SCORED = [("ada", at(0), 0.7), ("ada", at(5), 0.65), ("ada", at(9), 0.8), ("bob", at(2), 0.75),
          ("bob", at(3), math.nan), ("cyd", at(1), None), ("dan", at(4), 0.9)]  # fmt: skip


def test_best_so_far_steps_of_the_top_teams() -> None:
    series = progression(SCORED, higher_is_better=True, top=2)
    assert [s.team for s in series] == ["dan", "ada"]
    assert [(p.at, p.best) for p in series[1].points] == [(at(0), 0.7), (at(9), 0.8)]


def test_lower_is_better() -> None:
    series = progression(SCORED, higher_is_better=False, top=5)
    assert [s.team for s in series] == ["ada", "bob", "dan"]
    assert [p.best for p in series[0].points] == [0.7, 0.65]


def test_svg_is_well_formed_and_names_every_team() -> None:
    svg = progression_svg(
        progression(SCORED, higher_is_better=True), title="Best <score>", now=at(10), empty_text="-"
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Best <score>"
    assert len(root.findall(f"{ns}polyline")) == 3
    assert {"ada 0.8", "bob 0.75", "dan 0.9"} <= {t.text for t in root.iter(f"{ns}text")}


def test_empty_chart_says_so() -> None:
    root = ET.fromstring(progression_svg([], title="t", now=T0, empty_text="No score yet"))
    assert "No score yet" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_a_single_score_gets_a_narrow_axis_around_it() -> None:
    svg = progression_svg(
        progression([("ada", at(1), 0.9473)], higher_is_better=True), title="t", now=at(5), empty_text="-"
    )
    ticks = [
        float(t.text)
        for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
        if re.fullmatch(r"[\d.]+", t.text or "")
    ]
    assert ticks and min(ticks) > 0.89 and max(ticks) < 1.0
