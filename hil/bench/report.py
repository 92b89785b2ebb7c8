"""The hall benchmark's figures: latency percentiles per scenario, a readable table and a histogram PNG."""

from __future__ import annotations

import collections
import math
import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from protocol import reasons

from .fleet import Press

__all__ = ["histogram_png", "latency_stats", "machine", "percentile", "print_table"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def latency_stats(presses: Iterable[Press]) -> dict[str, Any]:
    """Counts and press->answer percentiles (ms, from the first send) of ``presses``."""
    presses = list(presses)
    lat = [p.latency for p in presses if p.latency is not None]
    replies = collections.Counter(
        reasons.name(p.reason) if p.reason is not None else "ECHO" for p in presses if p.reply is not None
    )
    first = min((p.sent_at for p in presses if p.sent_at is not None), default=None)
    last = max((p.answered_at for p in presses if p.answered_at is not None), default=None)
    span = (last - first) if first is not None and last is not None else None
    return {
        "presses": len(presses),
        "answered": len(lat),
        "unanswered": len(presses) - len(lat),
        "replies": dict(sorted(replies.items())),
        "p50_ms": _ms(percentile(lat, 50)),
        "p95_ms": _ms(percentile(lat, 95)),
        "p99_ms": _ms(percentile(lat, 99)),
        "max_ms": _ms(max(lat) if lat else None),
        "sends": sum(p.sends for p in presses),
        "retransmissions": sum(max(p.sends - 1, 0) for p in presses),
        "busy_nacks": sum(p.busy for p in presses),
        "first_to_last_answer_s": None if span is None else round(span, 3),
        "answered_per_s": None if not span else round(len(lat) / span, 1),
    }


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def print_table(report: dict[str, Any], out: Any) -> None:
    """A human-readable summary of ``report`` (the same figures as the JSON)."""
    w = out.write
    w(
        f"hallvote bench: {report['keypads']} keypads, {report['database']}, machine load {report['machine']['load_average_at_start']}\n"
    )
    w(
        f"{'scenario':<18}{'presses':>8}{'answered':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'per s':>9}  replies\n"
    )
    rows = [("echo burst", report["echo"].get("burst")), ("echo sustained", report["echo"].get("sustained"))]
    rows += [(name, sc) for name, sc in report["scenarios"].items()]
    for name, sc in rows:
        if not sc or "presses" not in sc:
            continue

        def f(key: str, sc: dict[str, Any] = sc) -> str:
            v = sc.get(key)
            return "-" if v is None else f"{v:g}"

        w(
            f"{name:<18}{sc['presses']:>8}{sc['answered']:>9}{f('p50_ms'):>9}{f('p95_ms'):>9}{f('p99_ms'):>9}"
            f"{f('max_ms'):>9}{f('answered_per_s'):>9}  {sc['replies']}\n"
        )
    for key, value in report["summary"].items():
        w(f"  {key}: {value}\n")


def histogram_png(path: Path, series: dict[str, Sequence[float]], title: str) -> Path:
    """Press->answer latency histograms (ms) of each series, overlaid, as a PNG (Pillow)."""
    from PIL import Image, ImageDraw

    width, height, left, bottom, top = 900, 420, 60, 50, 40
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    values = [v for s in series.values() for v in s]
    hi = max(values) if values else 1.0
    hi = max(hi, 1.0)
    bins = 40
    step = hi / bins
    colours = [(200, 40, 40), (40, 90, 200), (40, 160, 60), (150, 90, 20)]
    counts = {
        name: collections.Counter(min(int(v / step), bins - 1) for v in vals) for name, vals in series.items()
    }
    peak = max((c for cs in counts.values() for c in cs.values()), default=1)
    plot_w, plot_h = width - left - 20, height - top - bottom
    d.text((left, 10), title, fill="black")
    d.line([(left, top), (left, top + plot_h), (left + plot_w, top + plot_h)], fill="black")
    bar_w = plot_w / bins / max(len(series), 1)
    for k, (name, cs) in enumerate(counts.items()):
        colour = colours[k % len(colours)]
        for b, c in cs.items():
            x0 = left + b * plot_w / bins + k * bar_w
            y0 = top + plot_h - c / peak * plot_h
            d.rectangle([x0, y0, x0 + bar_w - 1, top + plot_h], fill=colour)
        d.rectangle([width - 240, top + 18 * k, width - 228, top + 18 * k + 12], fill=colour)
        d.text((width - 222, top + 18 * k), f"{name} (n={len(series[name])})", fill="black")
    for i in range(0, 5):
        x = left + i * plot_w / 4
        d.text((x - 10, top + plot_h + 8), f"{hi * i / 4:.0f}", fill="black")
    d.text((left + plot_w / 2 - 60, height - 20), "press -> answer (ms)", fill="black")
    d.text((4, top), str(peak), fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG")
    return path
