"""The rows of a report's tables, built from an :class:`~benchmark.report.analysis.Analysis`.

Plain dicts at full precision: the markdown renders them (rounding once, as the findings do) and
the csv/json/parquet files write them, so every format shows the same numbers. The long rows,
one per model, seed, target and entity type, come straight from the result files.
"""

from __future__ import annotations

import numpy as np

from benchmark.data.tasks import get_task
from benchmark.report.analysis import Analysis, unseen_in_pretraining
from benchmark.report.groups import Group
from benchmark.results.store import IN_LANGUAGE


def leaderboard_rows(an: Analysis) -> list[dict]:
    rows = []
    for m in an.order:
        zs, xt, il = (an.averages[m][k] for k in ("zero_shot", "xtreme", "in_language"))
        rows.append({"rank": an.ranks[m], "model": m, "recipe": an.group.recipe,
                     "zero_shot_f1": None if zs is None else 100 * zs.estimate,
                     "zero_shot_ci_low": None if zs is None else 100 * zs.ci_low,
                     "zero_shot_ci_high": None if zs is None else 100 * zs.ci_high,
                     "zero_shot_languages": len(an.zero_shot),
                     "xtreme_style_f1": 100 * xt.estimate, "xtreme_style_ci_low": 100 * xt.ci_low,
                     "xtreme_style_ci_high": 100 * xt.ci_high, "xtreme_style_languages": len(an.languages),
                     "in_language_f1": None if il is None else 100 * il.estimate, "seeds": an.seeds(m)})
    return rows


def ordered_languages(an: Analysis) -> list[str]:
    """In-language rows first, then zero-shot targets by the best model's F1."""
    best = an.order[0]
    by_score = sorted(an.zero_shot, key=lambda lang: (-an.per_language[best][lang].estimate, lang))
    return list(an.in_language) + by_score


def language_rows(an: Analysis, reference: dict[str, float]) -> list[dict]:
    task = get_task(an.group.task)
    rows = []
    for lang in ordered_languages(an):
        info = task.language(lang)
        row = {"lang": lang, "language": info.name, "script": info.script, "family": info.family,
               "group": "in-language" if lang in an.in_language else "zero-shot",
               "test_sentences": an.n_sentences[lang]}
        best = max(an.order, key=lambda m: an.per_language[m][lang].estimate)
        for m in an.order:
            iv = an.per_language[m][lang]
            row[f"{m} f1"] = 100 * iv.estimate
            row[f"{m} ci_low"] = 100 * iv.ci_low
            row[f"{m} ci_high"] = 100 * iv.ci_high
            row[f"{m} unseen"] = unseen_in_pretraining(an.group.models[m].pretraining_languages(), lang,
                                                       info.pretrained_in)
            row[f"{m} best_significant"] = m == best and an.best_marked[lang]
        row["rahimi_en_to_x"] = reference.get(lang)
        rows.append(row)
    return rows

PAIR_FIELDS = ["a", "b", "avg_diff", "ci_low", "ci_high", "p", "p_holm", "xtreme_style_diff", "a_better_on",
               "b_better_on", "languages", "wilcoxon_p", "aso_eps_min", "seeds_a", "seeds_b"]


def pair_rows(an: Analysis) -> list[dict]:
    rows = []
    for (a, b), t in an.pair_tests.items():
        o = t["overall"]
        rows.append({"a": a, "b": b, "avg_diff": 100 * o.estimate, "ci_low": 100 * o.ci_low,
                     "ci_high": 100 * o.ci_high, "p": o.p_value, "p_holm": t["overall_holm"],
                     "xtreme_style_diff": 100 * t["xtreme"].estimate,
                     "a_better_on": len(t["a_better"]), "b_better_on": len(t["b_better"]),
                     "languages": len(an.headline), "wilcoxon_p": t["wilcoxon"],
                     "aso_eps_min": None if np.isnan(t["aso"]) else round(t["aso"], 3),
                     "seeds_a": an.seeds(a), "seeds_b": an.seeds(b)})
    return rows


def type_scores(an: Analysis, model: str, lang: str) -> dict[str, float]:
    """Mean over seeds of each type's F1 (%), and ``all``, from the result files."""
    runs = an.group.models[model]
    out = {}
    for kind in get_task(an.group.task).entity_types:
        values = [runs.results[s]["targets"][lang].get("per_type", {}).get(kind, {}).get("f1") for s in runs.seeds]
        out[kind] = None if any(v is None for v in values) else 100 * float(np.mean(values))
    out["all"] = 100 * an.per_language[model][lang].estimate
    return out


def long_rows(group: Group) -> list[dict]:
    """One row per model x recipe x source x seed x target x entity type (and ``all``): P, R, F1, support."""
    rows = []
    sources = set(group.source.split("+")) if group.source else set()
    for model in sorted(group.models):
        runs = group.models[model]
        for seed in runs.seeds:
            for lang, target in sorted(runs.results[seed]["targets"].items()):
                base = {"task": group.task, "model": model, "recipe": group.recipe, "source": group.source,
                        "seed": seed, "target": lang, "in_language": lang in sources or group.source == IN_LANGUAGE,
                        "test_sha256": target.get("test_sha256"), "test_sentences": target.get("n_sentences")}
                per_type = target.get("per_type", {})
                support = sum(int(v.get("support", 0)) for v in per_type.values()) if per_type else None
                rows.append({**base, "type": "all", "precision": target.get("precision"),
                             "recall": target.get("recall"), "f1": target.get("f1"), "support": support})
                for kind in sorted(per_type):
                    scores = per_type[kind]
                    rows.append({**base, "type": kind, "precision": scores.get("precision"),
                                 "recall": scores.get("recall"), "f1": scores.get("f1"),
                                 "support": scores.get("support")})
    return rows

LONG_FIELDS = ["task", "model", "recipe", "source", "seed", "target", "in_language", "type", "precision", "recall",
               "f1", "support", "test_sha256", "test_sentences"]
