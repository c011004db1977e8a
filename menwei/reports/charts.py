"""Charts as inline SVG made on the server: no chart library, no script, nothing fetched from outside.

Every label is escaped here, so the returned markup may be put in a page as it is.
"""
from html import escape

from markupsafe import Markup

FONT = 'font-family="WenQuanYi Micro Hei, Microsoft YaHei, sans-serif"'
#: Label size in the chart's own units: charts are drawn 640 wide and shown about that wide on a desk screen
#: (dashboard.css), so labels read at about 14 px (they were 11 units shown at ~7 px).
FONT_SIZE = 14
COLOURS = {"out": "#c0392b", "in": "#2471a3", "denied": "#7f8c8d", "bar": "#8b0000", "fever": "#e67e22"}


def text_width(text):
    """About how wide ``text`` is drawn at FONT_SIZE: a Chinese character is square, a Latin one about half."""
    return sum(FONT_SIZE if ord(ch) >= 0x2E80 else FONT_SIZE * 0.6 for ch in str(text))


def _nice_max(value):
    """A round number at or above ``value`` for the top of an axis (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1
    step = 1
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _svg(width, height, title, body):
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
                  f'class="chart" {FONT} font-size="{FONT_SIZE}"><title>{escape(title)}</title>{"".join(body)}</svg>')


def _y_axis(body, left, top, plot_h, width, top_value):
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')


def grouped_bars(title, categories, series, width=640, height=220):
    """Bars per category, one per series: ``series`` is [(name, [values…], colour)] in legend order."""
    left, top, bottom = 44, 24, 36
    plot_h, plot_w = height - top - bottom, width - left - 10
    top_value = _nice_max(max([v for _, vals, _ in series for v in vals] or [0]))
    body = []
    _y_axis(body, left, top, plot_h, width, top_value)
    slot = plot_w / max(len(categories), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1)
    for i, cat in enumerate(categories):
        x0 = left + i * slot + slot * 0.1
        for j, (name, values, colour) in enumerate(series):
            h = plot_h * values[i] / top_value
            body.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{escape(str(cat))} {escape(name)}: '
                        f'{values[i]}</title></rect>')
        if len(categories) <= 16 or i % -(-len(categories) // 16) == 0:  # at most ~16 labels fit
            body.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - bottom + 14}" '
                        f'text-anchor="middle">{escape(str(cat))}</text>')
    x = left
    for name, _, colour in series:
        body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{x + 14}" y="13">{escape(name)}</text>')
        x += 14 + text_width(name) + 16
    return _svg(width, height, title, body)


def horizontal_bars(title, items, width=640, colour=COLOURS["bar"]):
    """One bar per (label, value), longest first as given; the value is written at the bar's end."""
    row = 24
    left = min(max([text_width(label) for label, _ in items] or [0]) + 12, width // 2)  # labels never cut off
    height = max(len(items), 1) * row + 10
    top_value = _nice_max(max([v for _, v in items] or [0]))
    body = []
    if not items:
        body.append(f'<text x="{width / 2}" y="20" text-anchor="middle" fill="#666">无 none</text>')
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = (width - left - 60) * value / top_value
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(str(label))}</text>'
                    f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>'
                    f'<text x="{left + w + 4:.1f}" y="{y + 15}">{value}</text>')
    return _svg(width, height, title, body)


def histogram(title, buckets, threshold=None, width=640, height=200):
    """Counts per temperature step [(celsius, count)], with the fever threshold drawn as a line."""
    left, top, bottom = 44, 14, 30
    plot_h, plot_w = height - top - bottom, width - left - 10
    if not buckets:
        return _svg(width, height, title, [f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                                           'fill="#666">无测温记录 no temperatures</text>'])
    lo = min(min(c for c, _ in buckets), threshold or 99) - 0.2
    hi = max(max(c for c, _ in buckets), threshold or 0) + 0.2
    steps = round((hi - lo) * 10) + 1
    top_value = _nice_max(max(n for _, n in buckets))
    body = []
    _y_axis(body, left, top, plot_h, width, top_value)
    slot = plot_w / steps

    def x_of(celsius):
        return left + (celsius - lo) * 10 * slot

    for celsius, n in buckets:
        h = plot_h * n / top_value
        fever = threshold is not None and celsius >= threshold
        body.append(f'<rect x="{x_of(celsius):.1f}" y="{top + plot_h - h:.1f}" width="{max(slot - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{COLOURS["fever"] if fever else COLOURS["in"]}">'
                    f'<title>{celsius:.1f}°C: {n}</title></rect>')
    whole = int(lo) + 1
    while whole <= hi:
        body.append(f'<text x="{x_of(whole) + slot / 2:.1f}" y="{height - 10}" text-anchor="middle">{whole}°C</text>')
        whole += 1
    if threshold is not None:
        x = x_of(threshold)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#c00" '
                    f'stroke-dasharray="4 2"/><text x="{x + 3:.1f}" y="{top + 10}" fill="#c00">'
                    f'≥{threshold:.1f}°C</text>')
    return _svg(width, height, title, body)
