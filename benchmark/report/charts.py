"""The report's pictures, 200 dpi PNG plus SVG, the same bytes every time.

- per-language F1 of every model as dots with 95% intervals, languages grouped and coloured by
  script (the finding: transfer differs by script), the source language set apart on the left,
  small test sets marked;
- per pair of models, A minus B per language with its interval, significant ones filled;
- per pair, a scatter of A's per-language F1 against B's.

The intervals are those of the tables (:mod:`benchmark.stats.intervals`). Files are deterministic:
PNG without a Software stamp, SVG without a date and with a fixed hash salt for its ids.
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmark.report.analysis import LOW_POWER_SENTENCES, recipe_label

SCRIPT_NAMES = {
    "Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Deva": "Devanagari", "Beng": "Bengali",
    "Grek": "Greek", "Hebr": "Hebrew", "Jpan": "Japanese", "Kore": "Hangul", "Hani": "Han", "Mlym": "Malayalam",
    "Taml": "Tamil", "Telu": "Telugu", "Gujr": "Gujarati", "Guru": "Gurmukhi", "Geor": "Georgian",
    "Mymr": "Myanmar", "Thai": "Thai", "Ethi": "Ethiopic", "Armn": "Armenian", "Khmr": "Khmer", "Knda": "Kannada",
    "Orya": "Odia", "Sinh": "Sinhala", "Syrc": "Syriac", "Thaa": "Thaana", "Tibt": "Tibetan", "?": "unknown",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")
DPI = 200
SVG_SALT = "xbench"


def script_groups(an) -> list[tuple[str, list[str]]]:
    """Zero-shot languages by script: Latin first, then the others by size and name; within a
    script, by the best model's F1. The source language(s) come first as their own group."""
    from benchmark.data.tasks import get_task

    task = get_task(an.group.task)
    best = an.order[0]
    by_script: dict[str, list[str]] = {}
    for lang in an.zero_shot:
        by_script.setdefault(task.language(lang).script, []).append(lang)
    order = sorted(by_script, key=lambda s: (s != "Latn", -len(by_script[s]), SCRIPT_NAMES.get(s, s)))
    groups = [("in-language", list(an.in_language))] if an.in_language else []
    for script in order:
        langs = sorted(by_script[script], key=lambda lang: (-an.per_language[best][lang].estimate, lang))
        groups.append((script, langs))
    return groups


def _layout(an):
    """x position, language and colour of each language, with a gap between groups."""
    import matplotlib

    # Strong colours only (pale ones vanish as tick labels): tab10, then the dark tones of tab20b/c.
    palette = (list(matplotlib.colormaps["tab10"].colors) + list(matplotlib.colormaps["tab20b"].colors)[0::4]
               + list(matplotlib.colormaps["tab20c"].colors)[0::4])
    colours, positions, x = {}, [], 0.0
    scripts = [s for s, _ in script_groups(an) if s != "in-language"]
    for i, script in enumerate(scripts):
        colours[script] = palette[i % len(palette)]
    colours["in-language"] = (0.15, 0.15, 0.15)
    boundaries = []
    for script, langs in script_groups(an):
        for lang in langs:
            positions.append((x, lang, script))
            x += 1.0
        boundaries.append(x)  # the empty slot between this group and the next
        x += 1.0
    return positions, colours, boundaries[:-1]


def _tick_label(an, lang: str) -> str:
    return lang + ("*" if an.n_sentences[lang] <= LOW_POWER_SENTENCES else "")


def _setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": SVG_SALT, "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _save(fig, folder: Path, name: str) -> None:
    from matplotlib.legend import Legend

    # A legend kept with ``ax.add_artist`` (the first of two) is not in the tight bounding box on its
    # own; name every legend so none is cut off where the other is narrower.
    legends = [a for ax in fig.axes for a in ax.get_children() if isinstance(a, Legend)]
    fig.savefig(folder / f"{name}.png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
                bbox_extra_artists=legends)
    fig.savefig(folder / f"{name}.svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight",
                bbox_extra_artists=legends)


def _script_legend(ax, colours, used, **kwargs):
    from matplotlib.patches import Patch

    handles = [Patch(color=colours[s], label="source (in-language)" if s == "in-language" else
                     SCRIPT_NAMES.get(s, s)) for s in used]
    return ax.legend(handles=handles, title="script", fontsize=7, title_fontsize=8, **kwargs)


def _colour_ticks(ax, positions, colours) -> None:
    for label, (_, _, script) in zip(ax.get_xticklabels(), positions):
        label.set_color(colours[script])


def per_language_chart(an, folder: Path, name: str) -> None:
    plt = _setup()
    from matplotlib.lines import Line2D

    positions, colours, boundaries = _layout(an)
    n = len(positions)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.27 * n + 2.5), 4.8))
    width = 0.6
    offsets = [0.0] if len(an.order) == 1 else [
        -width / 2 + width * i / (len(an.order) - 1) for i in range(len(an.order))]
    for m, marker, dx in zip(an.order, MARKERS * 4, offsets):
        for x, lang, script in positions:
            iv = an.per_language[m][lang]
            ax.errorbar(x + dx, 100 * iv.estimate, yerr=[[100 * (iv.estimate - iv.ci_low)],
                                                          [100 * (iv.ci_high - iv.estimate)]],
                        fmt=marker, color=colours[script], markersize=3.5, elinewidth=0.8, capsize=0)
    for b in boundaries:
        ax.axvline(b, color="0.85", linewidth=0.6, zorder=0)
    ax.set_xticks([p[0] for p in positions], [_tick_label(an, p[1]) for p in positions], rotation=90, fontsize=7)
    _colour_ticks(ax, positions, colours)
    ax.set_xlim(-1, positions[-1][0] + 1)
    ax.set_ylim(0, 100)
    ax.set_ylabel("span F1 (%): mean over seeds,\nbar: 95% interval")
    ax.grid(axis="y", alpha=0.3)
    g = an.group
    ax.set_title(f"{g.task}, {recipe_label(g)}: F1 per target language from {g.source or '?'} "
                 f"(* at most 150 test sentences)", fontsize=9)
    fig.tight_layout()
    model_handles = [Line2D([], [], marker=mk, color="0.3", linestyle="", markersize=5,
                            label=f"{m} ({an.seeds(m)} seeds)") for m, mk in zip(an.order, MARKERS * 4)]
    first = ax.legend(handles=model_handles, title="model", fontsize=7, title_fontsize=8, loc="upper left",
                      bbox_to_anchor=(1.005, 1.0))
    ax.add_artist(first)
    used = [s for s, _ in script_groups(an)]
    _script_legend(ax, colours, used, loc="upper left", bbox_to_anchor=(1.005, 0.74), ncol=2 if len(used) > 12 else 1)
    _save(fig, folder, name)
    plt.close(fig)


def difference_chart(an, a: str, b: str, folder: Path, name: str) -> None:
    plt = _setup()
    from matplotlib.lines import Line2D

    test = an.pair_tests[(a, b)]
    positions, colours, boundaries = _layout(an)
    n = len(positions)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.22 * n + 2.5), 4.2))
    for x, lang, script in positions:
        iv = test["per_language"][lang]
        significant = test["holm"][lang] <= an.alpha
        ax.errorbar(x, 100 * iv.estimate, yerr=[[100 * (iv.estimate - iv.ci_low)], [100 * (iv.ci_high - iv.estimate)]],
                    fmt="o", color=colours[script], markersize=4, elinewidth=0.8, capsize=0,
                    markerfacecolor=colours[script] if significant else "white")
    ax.axhline(0, color="0.3", linewidth=0.8)
    for bnd in boundaries:
        ax.axvline(bnd, color="0.85", linewidth=0.6, zorder=0)
    ax.set_xticks([p[0] for p in positions], [_tick_label(an, p[1]) for p in positions], rotation=90, fontsize=7)
    _colour_ticks(ax, positions, colours)
    ax.set_xlim(-1, positions[-1][0] + 1)
    ax.set_ylabel(f"F1 difference (points), {a} − {b}")
    ax.grid(axis="y", alpha=0.3)
    o = test["overall"]
    ax.set_title(f"{a} − {b} per language, 95% intervals; filled: significant after Holm. Zero-shot average "
                 f"{100 * o.estimate:+.1f} ({100 * o.ci_low:+.1f} to {100 * o.ci_high:+.1f})", fontsize=9)
    fig.tight_layout()
    kinds = [Line2D([], [], marker="o", color="0.3", linestyle="", label="significant"),
             Line2D([], [], marker="o", color="0.3", markerfacecolor="white", linestyle="", label="not significant")]
    first = ax.legend(handles=kinds, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    ax.add_artist(first)
    used = [s for s, _ in script_groups(an)]
    _script_legend(ax, colours, used, loc="upper left", bbox_to_anchor=(1.005, 0.84), ncol=2 if len(used) > 12 else 1)
    _save(fig, folder, name)
    plt.close(fig)


def scatter_chart(an, a: str, b: str, folder: Path, name: str) -> None:
    plt = _setup()

    positions, colours, _ = _layout(an)
    fig, ax = plt.subplots(figsize=(5.6, 5.6))
    for _, lang, script in positions:
        xa, yb = 100 * an.per_language[a][lang].estimate, 100 * an.per_language[b][lang].estimate
        ax.scatter([xa], [yb], s=22 if script != "in-language" else 60, marker="o" if script != "in-language"
                   else "*", color=colours[script], edgecolors="none")
        ax.annotate(lang, (xa, yb), xytext=(2.5, 2.5), textcoords="offset points", fontsize=5.5,
                    color=colours[script])
    top = max(100 * max(an.per_language[m][lang].estimate for m in (a, b)) for _, lang, _ in positions)
    limit = min(100.0, 10.0 * math.ceil((top + 4) / 10))  # zoom in when both models score low
    ax.plot([0, limit], [0, limit], color="0.6", linewidth=0.8, linestyle="--", zorder=0)
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{a}: span F1 (%)")
    ax.set_ylabel(f"{b}: span F1 (%)")
    ax.grid(alpha=0.3)
    ax.set_title(f"{a} against {b}, one point per language\n(below the diagonal: {a} higher)", fontsize=9)
    fig.tight_layout()
    used = [s for s, _ in script_groups(an)]
    _script_legend(ax, colours, used, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=2 if len(used) > 12 else 1)
    _save(fig, folder, name)
    plt.close(fig)


def render_pictures(an, folder: Path, stem: str) -> dict[str, str]:
    """Write every picture of a report; returns their names (without extension) by role."""
    names = {"languages": stem}
    per_language_chart(an, folder, stem)
    for a, b in an.pair_tests:
        names[f"diff {a} {b}"] = f"{stem}-diff-{a}-vs-{b}"
        names[f"scatter {a} {b}"] = f"{stem}-scatter-{a}-vs-{b}"
        difference_chart(an, a, b, folder, names[f"diff {a} {b}"])
        scatter_chart(an, a, b, folder, names[f"scatter {a} {b}"])
    return names
