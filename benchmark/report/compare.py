"""``xbench compare``: two models side by side on every report group that holds both, as a
terminal table per language with the difference, its interval and the corrected test.

The same analysis as the report, on a group cut down to the two models.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.errors import XbenchError
from benchmark.report.analysis import analyse, recipe_label
from benchmark.report.formatting import counted, p_text, pct
from benchmark.report.groups import Group, load_groups
from benchmark.report.tables import ordered_languages
from benchmark.stats.intervals import METHOD


def compare_table(results_dir: Path, model_a: str, model_b: str, task: str | None, source: str | None,
                  n_resamples: int, seed: int, alpha: float) -> str:
    from tabulate import tabulate

    if model_a == model_b:
        raise XbenchError(f"compare needs two different models; both are {model_a!r}")
    every = load_groups(results_dir)
    groups = [g for g in every if model_a in g.models and model_b in g.models
              and (task is None or g.task == task) and (source is None or g.source == source)]
    if not groups:
        known = sorted({m for g in every for m in g.models})
        raise XbenchError(f"no results hold both {model_a!r} and {model_b!r} (models with results: "
                          f"{', '.join(known)})")
    out = []
    for g in groups:
        sub = Group(g.task, g.source, {m: g.models[m] for m in (model_a, model_b)}, g.seqeval_mode, g.recipe)
        an = analyse(sub, n_resamples, seed, alpha)
        key = (model_a, model_b) if (model_a, model_b) in an.pair_tests else (model_b, model_a)
        t = an.pair_tests[key]
        sign = 1 if key == (model_a, model_b) else -1
        rows = []
        for lang in ordered_languages(an):
            c = t["per_language"][lang]
            lo, hi = sorted((sign * c.ci_low, sign * c.ci_high))
            rows.append([lang + (" (in-language)" if lang in an.in_language else ""),
                         pct(an.per_language[model_a][lang].estimate), pct(an.per_language[model_b][lang].estimate),
                         f"{100 * sign * c.estimate:+.2f}", f"[{100 * lo:+.2f}, {100 * hi:+.2f}]", p_text(c.p_value),
                         p_text(t["holm"][lang]), "*" if t["holm"][lang] <= alpha else ""])
        a_wins, b_wins = ((len(t["a_better"]), len(t["b_better"])) if sign == 1
                          else (len(t["b_better"]), len(t["a_better"])))
        o = t["overall"]
        lo, hi = sorted((sign * o.ci_low, sign * o.ci_high))
        kind = "zero-shot average" if an.zero_shot else "average"
        out.append(f"{g.task} ({recipe_label(g)}) from {g.source}: {model_a} (A) vs {model_b} (B), "
                   f"{counted(len(an.headline), 'zero-shot language' if an.zero_shot else 'language')}\n"
                   + tabulate(rows, headers=["lang", "A F1", "B F1", "A−B", "95% CI", "p", "p Holm", "sig"],
                              disable_numparse=True, colalign=("left",) + ("right",) * 7)
                   + f"\n\n{kind} A−B {100 * sign * o.estimate:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}], "
                   f"p {p_text(o.p_value)}; "
                   f"A better on {a_wins} of {counted(len(an.headline), 'language')}, B better on {b_wins} "
                   f"(Holm, alpha {alpha}; {METHOD}, {n_resamples:,} resamples; seeds A {an.seeds(model_a)}, "
                   f"B {an.seeds(model_b)})")
        if an.missing:
            out.append("incomplete: " + "; ".join(an.missing))
    return "\n\n".join(out)
