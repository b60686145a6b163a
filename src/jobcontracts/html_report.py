"""`--contract-report PATH.html`: the run's rules as one self-contained page.

Inline CSS and inline SVG only: no script, no font, no image, nothing the
page fetches, so it opens the same from a CI artifact, a mail or a laptop
offline. The page shows every rule with its status (any status the ledger
reports: an unknown one gets a neutral badge), source and detail; then each
violation with its message, its exchanges and a timeline of the polled
resource, the offending polls marked (`timeline_svg`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .progress import duration

#: Badge colours; an unknown status gets `OTHER`.
COLOURS = {"verified": "#1a7f37", "violated": "#cf222e", "partial": "#9a6700",
           "not_reached": "#6e7781"}
OTHER = "#8250df"
#: Rules listed in this order of status, any other status after `partial`.
ORDER = {"violated": 0, "partial": 2, "not_reached": 3, "verified": 4}
BANDS = ("#ddf4ff", "#fff8c5", "#dafbe1", "#ffebe9", "#fbefff", "#ffeff7", "#eaeef2",
         "#fff1e5")
LINES = ("#0969da", "#8250df", "#bf3989")
SHOWN = 2  # violations shown open per rule; the rest folded

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
 margin:0;background:#f6f8fa}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px;
 border-bottom:1px solid #d0d7de;padding-bottom:6px}
h3{font-size:16px;margin:0 0 6px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.meta{color:#59636e;margin:0 0 14px}.meta span+span:before{content:" · "}
.counts{display:flex;gap:10px;flex-wrap:wrap}
.count{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px 14px;
 min-width:96px}.count b{display:block;font-size:22px}
.badge{display:inline-block;color:#fff;border-radius:12px;padding:1px 10px;font-size:12px;
 font-weight:600;white-space:nowrap}
.src{font-size:12px;color:#59636e;border:1px solid #d0d7de;border-radius:12px;padding:0 8px}
article{background:#fff;border:1px solid #d0d7de;border-left:4px solid #cf222e;
 border-radius:8px;padding:16px 18px;margin:0 0 16px}
.desc{color:#59636e;margin:0 0 12px}
.finding{border-top:1px solid #eaeef2;padding-top:12px;margin-top:12px}
.msg{font-weight:600;margin:0 0 2px}.found{color:#59636e;margin:0 0 8px;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:12px;color:#59636e;font-weight:600}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border-radius:6px;padding:8px 10px;overflow-x:auto;margin:6px 0}
.ex td:first-child{color:#59636e;white-space:nowrap}
.fld{background:#fff8c5;border-radius:4px;padding:0 4px;margin-right:6px}
.rules td:nth-child(2){white-space:nowrap}.rules td:first-child{font-weight:600;
 white-space:nowrap}
.plot{margin:10px 0 0;overflow-x:auto}.legend{font-size:12px;color:#59636e}
.legend i{display:inline-block;width:11px;height:11px;border:1px solid #d0d7de;
 margin:0 4px -1px 10px}
details>summary{cursor:pointer;color:#0969da;margin:6px 0}
.ok{color:#1a7f37}
"""


def render(report: Mapping[str, Any], evidence: Mapping[str, Sequence[Mapping[str, Any]]],
           *, descriptions: Mapping[str, str] | None = None,
           meta: Sequence[str] = ()) -> str:
    """The page for a ledger report, the violations' evidence and a few lines of context."""
    descriptions = descriptions or {}
    rules = sorted(report.get("rules", []),
                   key=lambda r: (ORDER.get(r["status"], 1), r["id"]))
    counts: dict[str, int] = {}
    for rule in report.get("rules", []):
        counts[rule["status"]] = counts.get(rule["status"], 0) + 1
    parts = ["<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
             "<title>jobcontracts report</title>", f"<style>{CSS}</style></head><body><main>",
             "<h1>Contract report</h1>",
             "<p class=\"meta\">" + "".join(f"<span>{escape(m)}</span>" for m in meta) + "</p>",
             "<div class=\"counts\">"]
    for status in sorted(counts, key=lambda s: (ORDER.get(s, 1), s)):
        parts.append(f"<div class=\"count\" style=\"border-top:3px solid {_colour(status)}\">"
                     f"<b>{counts[status]}</b>{escape(status.replace('_', ' '))}</div>")
    parts.append("</div>")
    violated = [r for r in rules if r["status"] == "violated" or r["id"] in evidence]
    parts.append("<h2>Violations</h2>")
    if not violated:
        parts.append("<p class=\"ok\">No rule was violated.</p>")
    for rule in violated:
        parts.append(_violation_card(rule, evidence.get(rule["id"], ()),
                                     descriptions.get(rule["id"], "")))
    parts.append("<h2>All rules</h2><table class=\"rules\"><tr><th>rule</th><th>status</th>"
                 "<th>source</th><th>what it says, and what the run found</th></tr>")
    for rule in rules:
        desc = descriptions.get(rule["id"], "")
        parts.append(f"<tr id=\"rule-{escape(rule['id'])}\"><td>{escape(rule['id'])}</td>"
                     f"<td>{_badge(rule['status'])}</td><td>{escape(str(rule.get('source', '')))}"
                     f"</td><td>{_oneline(desc)}<br><code>{escape(str(rule.get('detail', '')))}"
                     "</code></td></tr>")
    parts.append("</table></main></body></html>\n")
    return "\n".join(parts)


def _violation_card(rule: Mapping[str, Any], found: Sequence[Mapping[str, Any]],
                    description: str) -> str:
    out = [f"<article id=\"violation-{escape(rule['id'])}\"><h3>{_badge(rule['status'])} "
           f"{escape(rule['id'])} <span class=\"src\">{escape(str(rule.get('source', '')))}"
           "</span></h3>"]
    if description:
        out.append(f"<p class=\"desc\">{_oneline(description)}</p>")
    if not found:
        out.append(f"<pre>{escape(str(rule.get('detail', '')))}</pre>")
    for i, item in enumerate(found):
        if i == SHOWN:
            out.append(f"<details><summary>{len(found) - SHOWN} more violation(s) of "
                       f"{escape(rule['id'])}</summary>")
        out.append(_finding(item))
    if len(found) > SHOWN:
        out.append("</details>")
    out.append("</article>")
    return "\n".join(out)


def _finding(item: Mapping[str, Any]) -> str:
    out = [f"<div class=\"finding\"><p class=\"msg\">{escape(item['message'])}</p>"]
    if item.get("test"):
        out.append(f"<p class=\"found\">found by <code>{escape(item['test'])}</code></p>")
    exchanges = item.get("exchanges", [])
    if exchanges:
        out.append("<table class=\"ex\"><tr><th>#</th><th>request</th><th>answer</th>"
                   "<th>fields</th><th>note</th></tr>")
        for ex in exchanges:
            path = ex["path"] + (ex.get("query") or "")
            answer = str(ex["status"]) if ex["status"] else f"no answer ({ex.get('error')})"
            if ex["status"] and ex.get("error"):
                answer += f" ({ex['error']})"
            fields = "".join(f"<code class=\"fld\">{escape(k)}={escape(_value(v))}</code>"
                             for k, v in ex.get("fields", {}).items())
            extra = _events(ex) or _body(ex)
            out.append(f"<tr><td>#{ex['seq']}</td><td><code>{escape(ex['method'])} "
                       f"{escape(path)}</code>{extra}</td><td>{escape(answer)}</td>"
                       f"<td>{fields}</td><td>{escape(ex.get('note') or '')}</td></tr>")
        out.append("</table>")
    if item.get("timeline"):
        out.append(timeline_svg(item["timeline"]))
    reproduce = f"\n  reproduce: {item['reproduce']}" if item.get("reproduce") else ""
    out.append(f"<details><summary>as the failure message prints it, and how to reproduce it"
               f"</summary><pre>{escape(item['text'] + reproduce)}</pre></details></div>")
    return "\n".join(out)


def _events(ex: Mapping[str, Any]) -> str:
    events = ex.get("events")
    if not events:
        return ""
    rows = "\n".join(f"id={e['id'] or '-'} event={e['event']} {e['data']}" for e in events)
    return (f"<details><summary>{len(events)} event(s)</summary>"
            f"<pre>{escape(rows)}</pre></details>")


def _body(ex: Mapping[str, Any]) -> str:
    body = ex.get("body")
    return (f"<details><summary>body</summary><pre>{escape(body)}</pre></details>"
            if body else "")


def timeline_svg(tl: Mapping[str, Any], width: int = 1000) -> str:
    """The polls of one resource: its state as labelled bands, each numeric
    field as a line on its own scale, the violation's polls marked in red."""
    points = tl["points"]
    fields, marked = tl["fields"], set(tl["marked"])
    highlight = set(tl.get("highlight") or fields[:1])
    left, right, band_h, chart_h, gap = 64, 20, 26, 90, 26
    plot_w = width - left - right
    times = [p["t"] for p in points]
    t0, t1 = min(times), max(times)
    by_time = t1 > t0

    def x(i: int) -> float:
        span = (points[i]["t"] - t0) / (t1 - t0) if by_time else i / max(1, len(points) - 1)
        return left + span * plot_w

    top = 40
    height = top + band_h + len(fields) * (chart_h + gap) + 44
    svg = [f"<div class=\"plot\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
           f"height=\"{height}\" style=\"max-width:100%;height:auto\" role=\"img\" "
           "font-family=\"system-ui,sans-serif\" "
           f"font-size=\"11\"><title>{escape(tl['path'])} across {len(points)} polls</title>",
           f"<text x=\"0\" y=\"14\" font-size=\"12\" font-weight=\"600\">"
           f"{escape(tl['path'])}: {len(points)} polls</text>"]
    colours: dict[str, str] = {}
    if tl.get("state_field"):
        svg.append(_text(left, top - 6, tl["state_field"], weight="600"))
        start = 0
        for i in range(1, len(points) + 1):
            if i < len(points) and points[i]["state"] == points[start]["state"]:
                continue
            label = str(points[start]["state"])
            colour = colours.setdefault(label, BANDS[len(colours) % len(BANDS)])
            x0, x1 = x(start), x(i) if i < len(points) else left + plot_w
            svg.append(f"<rect x=\"{x0:.1f}\" y=\"{top}\" width=\"{max(x1 - x0, 1.5):.1f}\" "
                       f"height=\"{band_h}\" fill=\"{colour}\" stroke=\"#d0d7de\" "
                       f"stroke-width=\"0.5\"><title>{escape(label)}</title></rect>")
            if x1 - x0 > 7 * len(label) + 8:
                svg.append(_text(x0 + 5, top + 18, label))
            start = i
    for n, name in enumerate(fields):
        y0 = top + band_h + gap + n * (chart_h + gap)
        svg.append(_chart(points, name, marked if name in highlight else set(), x, y0,
                          chart_h, left, plot_w, LINES[n % len(LINES)]))
    bottom = height - 44
    for i, p in enumerate(points):
        if p["seq"] in marked:
            svg.append(f"<line x1=\"{x(i):.1f}\" x2=\"{x(i):.1f}\" y1=\"{top - 4}\" "
                       f"y2=\"{bottom}\" stroke=\"#cf222e\" stroke-dasharray=\"3 3\"/>")
    svg.append(f"<line x1=\"{left}\" x2=\"{left + plot_w}\" y1=\"{bottom}\" y2=\"{bottom}\" "
               "stroke=\"#8c959f\"/>")
    for k in range(6):
        tx = left + k * plot_w / 5
        label = (duration((t1 - t0) * k / 5) if by_time
                 else f"poll {round(k * (len(points) - 1) / 5) + 1}")
        svg.append(f"<line x1=\"{tx:.1f}\" x2=\"{tx:.1f}\" y1=\"{bottom}\" y2=\"{bottom + 4}\" "
                   f"stroke=\"#8c959f\"/>" + _text(tx, bottom + 16, label, anchor="middle"))
    svg.append(_text(left + plot_w, bottom + 32, "time since the first poll (the run's clock)"
                     if by_time else "polls in order", anchor="end", fill="#59636e"))
    svg.append("</svg></div>")
    if colours:
        svg.append("<div class=\"legend\">" + "".join(
            f"<i style=\"background:{c}\"></i>{escape(s)}" for s, c in colours.items())
            + "<i style=\"background:#cf222e\"></i>the violation's polls</div>")
    return "\n".join(svg)


def _chart(points: Sequence[Mapping[str, Any]], name: str, marked: set[int], x: Any,
           y0: float, h: float, left: float, plot_w: float, colour: str) -> str:
    values = [float(p["values"][name]) for p in points if name in p["values"]]
    lo, hi = min(values), max(values)
    if "percent" in name and lo >= 0 and hi <= 100:
        lo, hi = 0.0, 100.0
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def y(v: float) -> float:
        return y0 + h - (v - lo) / (hi - lo) * h

    out = [f"<rect x=\"{left}\" y=\"{y0}\" width=\"{plot_w}\" height=\"{h}\" fill=\"#fff\" "
           "stroke=\"#eaeef2\"/>", _text(left, y0 - 6, name, weight="600"),
           _text(left - 6, y0 + 10, _value(hi), anchor="end", fill="#8c959f"),
           _text(left - 6, y0 + h, _value(lo), anchor="end", fill="#8c959f")]
    coords = [(x(i), y(p["values"][name]), p) for i, p in enumerate(points)
              if name in p["values"]]
    line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _ in coords)
    out.append(f"<polyline points=\"{line}\" fill=\"none\" stroke=\"{colour}\" "
               "stroke-width=\"1.6\"/>")
    labelled = 0
    for cx, cy, p in coords:
        if p["seq"] in marked:
            labelled += 1
            dy = -8 if labelled % 2 else 16  # neighbours' labels, one above, one below
            out.append(f"<circle cx=\"{cx:.1f}\" cy=\"{cy:.1f}\" r=\"4.5\" fill=\"#cf222e\">"
                       f"<title>#{p['seq']} {escape(name)}={_value(p['values'][name])}</title>"
                       "</circle>")
            out.append(_text(cx + 7, cy + dy, f"#{p['seq']}: {_value(p['values'][name])}",
                             fill="#cf222e", weight="600"))
        elif len(coords) <= 150:
            out.append(f"<circle cx=\"{cx:.1f}\" cy=\"{cy:.1f}\" r=\"2\" fill=\"{colour}\"/>")
    return "\n".join(out)


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = "#1f2328",
          weight: str = "400") -> str:
    return (f"<text x=\"{x:.1f}\" y=\"{y:.1f}\" text-anchor=\"{anchor}\" fill=\"{fill}\" "
            f"font-weight=\"{weight}\">{escape(text)}</text>")


def _badge(status: str) -> str:
    return (f"<span class=\"badge\" style=\"background:{_colour(status)}\">"
            f"{escape(status)}</span>")


def _colour(status: str) -> str:
    return COLOURS.get(status, OTHER)


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else repr(value) if value is not None else "null"


def _oneline(text: str) -> str:
    return escape(" ".join(text.split()))
