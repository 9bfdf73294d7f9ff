"""``xbench report`` and ``xbench compare``: leaderboards with seed-honest CIs and corrected tests.

Reads result files only (no model, no data): per-sentence counts from the predictions sidecars
feed one paired sentence bootstrap per language (:func:`stats.resample_languages`, all seeds
kept), which :func:`intervals.seed_interval` combines with the spread over seeds into every
interval and test of the report. The source language's own test split is in-language and kept
apart; the headline average is over zero-shot targets. Reports are generated, never edited: the
same results give the same bytes (pictures included).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from benchmark.data.tasks import get_task
from benchmark.errors import XbenchError
from benchmark.report.analysis import (
    FEW_SEEDS,
    LOW_POWER_SENTENCES,
    Analysis,
    analyse,
    recipe_label,
    recipe_settings,
    unseen_in_pretraining,
)
from benchmark.report.groups import Group, load_groups, mark_stale
from benchmark.report.import_notes import import_notes
from benchmark.report.reference import default_reference, read_reference
from benchmark.results.store import AS_GIVEN, IN_LANGUAGE
from benchmark.stats.estimates import ASO_THRESHOLD
from benchmark.stats.intervals import MEASURED_COVERAGE, METHOD, SeedInterval


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _count(n: int, noun: str) -> str:
    """``1 language``, ``3 languages``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


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


def _markdown_table(headers: list[str], rows: list[list[str]], align: str) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _p_phrase(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _ci(iv: SeedInterval | None) -> str:
    return "–" if iv is None else f"{_pct(iv.estimate)} ({_pct(iv.ci_low)}–{_pct(iv.ci_high)})"


def _plus_minus(iv: SeedInterval) -> str:
    return f"{_pct(iv.estimate)} ± {_pct(iv.half_width)}"


def coverage_sentence() -> str:
    return ", ".join(f"{100 * average:.1f}% with {k} seeds ({100 * single:.1f}% for single languages)"
                     for k, (average, single) in sorted(MEASURED_COVERAGE.items()))


def render_markdown(an: Analysis, reference: dict[str, float], pictures: dict[str, str]) -> str:
    g = an.group
    task = get_task(g.task)
    n_files = sum(len(m.seeds) for m in g.models.values())
    title = (f"# {g.task}: models evaluated as given, no training" if g.recipe == AS_GIVEN
             else f"# {g.task}, {recipe_label(g)}: in-language NER (each language trained on its own data)"
             if g.source == IN_LANGUAGE
             else f"# {g.task}, {recipe_label(g)}: NER transfer from {g.source}")
    lines = [title, "",
             f"Generated by `xbench report` from {_count(n_files, 'result file')}; do not edit by hand. "
             "Span F1 (%) on each target language's test split.", "", recipe_settings(g), ""]
    few = [f"{m} ({an.seeds(m)})" for m in an.order if an.seeds(m) < FEW_SEEDS]
    if few:
        lines += [f"> **Fewer than {FEW_SEEDS} seeds:** {', '.join(few)}. Intervals are honest about it and "
                  "therefore wide; seed-level comparisons (ASO) are weak evidence. "
                  + ("With one seed the seed-to-seed variance cannot be estimated: that model's intervals "
                     "cover test-sentence noise only. " if any(an.seeds(m) == 1 for m in an.order) else "")
                  + "Run more seeds (`--seeds 1-5`) for firmer conclusions.", ""]
    lines += ["## Leaderboard", ""]
    board = leaderboard_rows(an)
    source_note = f"in-language ({g.source})" if an.in_language and g.source != IN_LANGUAGE else None
    headers = ["rank", "model", f"zero-shot average over {_count(len(an.zero_shot), 'language')} (95% CI)",
               f"XTREME-style average, source included, {_count(len(an.languages), 'language')} (95% CI)"]
    if not an.zero_shot:
        headers[2] = "zero-shot average (no zero-shot target)"
    # Without the source's own test split an "XTREME-style" average would repeat the zero-shot one
    # under a name that says the source is in it: leave it out.
    xtreme_style = bool(an.in_language) and g.source != IN_LANGUAGE
    if g.source == IN_LANGUAGE:  # one average: every language is in-language
        headers[2:4] = [f"average over {_count(len(an.languages), 'language')} (95% CI)"]
    elif not xtreme_style:
        del headers[3]
    if source_note:
        headers.append(source_note)
    headers.append("seeds")
    body = []
    for r in board:
        m = r["model"]
        row = [r["rank"], f"**{m}**" if r["rank"] == 1 and len(board) > 1 else m,
               _ci(an.averages[m]["zero_shot"]), _ci(an.averages[m]["xtreme"])]
        if g.source == IN_LANGUAGE:
            row[2:4] = [_ci(an.averages[m]["xtreme"])]
        elif not xtreme_style:
            del row[3]
        if source_note:
            row.append(_plus_minus(an.averages[m]["in_language"]))
        row.append(r["seeds"])
        body.append(row)
    lines.append(_markdown_table(headers, body, "rl" + "r" * (len(headers) - 2)))
    lines.append("")
    lines.append(("The headline is the average over the languages, each scored on its own test split."
                  if g.source == IN_LANGUAGE else
                  "The headline is the zero-shot average: the source language's own test split is in-language "
                  "and kept out of it. The XTREME-style average includes it, as XTREME reports PAN-X."
                  if xtreme_style else
                  f"The headline is the zero-shot average. The source language's ({g.source}) own test split was "
                  "not evaluated, so there is no XTREME-style average (source included) here.")
                 + (" In-language: F1 ± h, h the half-width of its 95% interval." if source_note else "")
                 + f" 95% CI: {METHOD}; measured coverage of a stated 95%: {coverage_sentence()} "
                 f"([docs/statistics.md](../docs/statistics.md)).")
    if len(board) > 1:
        tied = [r["model"] for r in board if r["rank"] == 1]
        if len(tied) > 1:
            lines.append(f"Ranks are tie groups: {', '.join(tied)} share rank 1 because no test separates them.")
        else:
            lines.append("Ranks are tie groups: a model's rank is 1 + the number of models significantly better "
                         "on the zero-shot average.")
    if an.missing:
        lines += ["", f"**Incomplete results.** Averages use only the {_count(len(an.languages), 'language')} "
                  "every run has:"]
        lines += [f"- {m}" for m in an.missing]
    if g.stale:
        lines += ["", "**Stale scores** (‡): the test data of these scores changed after they were computed; "
                  "they are shown as computed, and `xbench run` with the same options recomputes them:"]
        lines += [f"- {m} seed {seed}: {', '.join(langs)}" for (m, seed), langs in sorted(g.stale.items())]
    lines += ["", "## Per language", ""]
    lines.append(_language_table(an, reference))
    lines += ["", "F1 ± h: mean over seeds ± h, the half-width of its 95% interval (the same interval as the "
              "leaderboard's, for one language; the pictures draw the same intervals). † best model, "
              "significantly better than every other model on that language (Holm-corrected within the row "
              "group); ° language not in the model's pretraining data; ⚠ at most "
              f"{LOW_POWER_SENTENCES} test sentences (low power)."
              + (" Rahimi en→X: Rahimi, Li & Cohn (2019), Fig. 5, whole numbers read off a heatmap (±1-2 points)."
                 if any(lang in reference for lang in an.languages) else "")]
    lines += ["", "## Pictures", ""]
    lines += _picture_lines(an, pictures)
    lines += ["", "## Per entity type", "",
              "Span F1 (%) per entity type, mean over seeds, from the per-type scores stored in each result; "
              "the last column is the F1 over all types."]
    for m in an.order:
        lines += ["", f"### {m}", "", _type_table(an, m, task)]
    if an.pair_tests:
        lines += ["", "## Pairwise comparisons", ""]
        lines.append(_markdown_table(
            ["A vs B", "A − B average (95% CI)" if g.source == IN_LANGUAGE else "A − B zero-shot average (95% CI)",
             "p (Holm)"] + (["A − B XTREME-style"] if xtreme_style else []) + ["A better on",
             "B better on", "Wilcoxon p", "ASO ε_min (seeds A vs B)"],
            [[f"{r['a']} vs {r['b']}", f"{r['avg_diff']:+.1f} ({r['ci_low']:+.1f} to {r['ci_high']:+.1f})",
              _p(r["p_holm"])] + ([f"{r['xtreme_style_diff']:+.1f}"] if xtreme_style else [])
             + [f"{r['a_better_on']} of {r['languages']}",
                f"{r['b_better_on']} of {r['languages']}", _p(r["wilcoxon_p"]),
                ("–" if r["aso_eps_min"] is None else f"{r['aso_eps_min']:.2f}")
                + f" ({r['seeds_a']} vs {r['seeds_b']})"]
             for r in pair_rows(an)], "lrr" + "r" * (5 if xtreme_style else 4)))
        counts = sorted({an.seeds(m) for m in an.order})
        per_side = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
        kind = "" if g.source == IN_LANGUAGE else "zero-shot "
        lines += ["", f"A better on / B better on: {kind}languages where the difference is significant after "
                  "Holm correction across them. ASO: almost stochastic order (Dror, Shlomov & Reichart 2019) over "
                  f"per-seed {kind}averages; A is declared better when ε_min < {ASO_THRESHOLD}, the threshold "
                  "Ulmer et al. (2022) recommend (Dror et al.'s own boundary is 0.5). ε_min is estimated from the "
                  f"seeds alone, here {per_side} per model"
                  + (f"; with fewer than {FEW_SEEDS} per side even ε_min = 0 is weak evidence"
                     if counts[0] < FEW_SEEDS else "")
                  + "; the interval and p-value of the average are the firmer test."]
    lines += ["", "## What the numbers say", ""] + findings(an, reference, task)
    notes = import_notes(g, an.languages)
    if notes:
        lines += [""] + notes
    lines += ["", "---", "", _footnote(an)]
    return "\n".join(lines) + "\n"


def _language_table(an: Analysis, reference: dict[str, float]) -> str:
    stale_langs = {lang for langs in an.group.stale.values() for lang in langs}  # marked ‡
    headers = ["lang", "language", "script", "test"] + list(an.order)
    has_reference = any(lang in reference for lang in an.languages)
    if has_reference:
        headers.append("Rahimi en→X")
    body = []
    for r in language_rows(an, reference):
        if r["group"] == "in-language" and r["lang"] == an.in_language[0]:
            label = "in-language" if an.group.source == IN_LANGUAGE else f"in-language ({an.group.source})"
            body.append([f"*{label}*"] + [""] * (len(headers) - 1))
        if r["group"] == "zero-shot" and an.zero_shot and r["lang"] == next(
                lang for lang in ordered_languages(an) if lang in an.zero_shot) and an.in_language:
            body.append(["*zero-shot*"] + [""] * (len(headers) - 1))
        cells = [r["lang"] + (" ‡" if r["lang"] in stale_langs else ""), r["language"], r["script"],
                 f"{r['test_sentences']}" + (" ⚠" if r["test_sentences"] <= LOW_POWER_SENTENCES else "")]
        for m in an.order:
            cell = _plus_minus(an.per_language[m][r["lang"]])
            if r[f"{m} best_significant"]:
                cell = f"**{cell}**†"
            if r[f"{m} unseen"]:
                cell += " °"
            cells.append(cell)
        if has_reference:
            cells.append("" if r["rahimi_en_to_x"] is None else f"{r['rahimi_en_to_x']:.0f}")
        body.append(cells)
    return _markdown_table(headers, body, "lllr" + "r" * len(an.order) + ("r" if has_reference else ""))


def type_scores(an: Analysis, model: str, lang: str) -> dict[str, float]:
    """Mean over seeds of each type's F1 (%), and ``all``, from the result files."""
    runs = an.group.models[model]
    out = {}
    for kind in get_task(an.group.task).entity_types:
        values = [runs.results[s]["targets"][lang].get("per_type", {}).get(kind, {}).get("f1") for s in runs.seeds]
        out[kind] = None if any(v is None for v in values) else 100 * float(np.mean(values))
    out["all"] = 100 * an.per_language[model][lang].estimate
    return out


def _type_table(an: Analysis, model: str, task) -> str:
    types = task.entity_types

    def cell(v):
        return "–" if v is None else f"{v:.1f}"

    rows = []
    in_language_label = "in-language" if an.group.source == IN_LANGUAGE else f"in-language ({an.group.source})"
    for label, langs in (("zero-shot average", an.zero_shot), (in_language_label, an.in_language)):
        if len(langs) < (2 if langs is an.in_language else 1):  # one source language has its own row below
            continue
        per = [type_scores(an, model, lang) for lang in langs]
        avg = {k: None if any(p[k] is None for p in per) else float(np.mean([p[k] for p in per]))
               for k in (*types, "all")}
        rows.append([f"*{label}*", ""] + [cell(avg[k]) for k in (*types, "all")])
    for lang in ordered_languages(an):
        s = type_scores(an, model, lang)
        rows.append([lang, task.language(lang).name] + [cell(s[k]) for k in (*types, "all")])
    return _markdown_table(["lang", "language", *types, "all"], rows, "ll" + "r" * (len(types) + 1))


def _picture_lines(an: Analysis, pictures: dict[str, str]) -> list[str]:
    out = [f"![Per-language F1 with 95% intervals]({pictures['languages']}.png)", "",
           f"Per-language F1 (mean over seeds) with 95% intervals, grouped and coloured by script; the source "
           f"language set apart on the left; * after a code: at most {LOW_POWER_SENTENCES} test sentences. "
           f"SVG: [{pictures['languages']}.svg]({pictures['languages']}.svg)."]
    for (a, b) in an.pair_tests:
        diff, scatter = pictures[f"diff {a} {b}"], pictures[f"scatter {a} {b}"]
        out += ["", f"**{a} vs {b}**", "", f"![{a} minus {b} per language]({diff}.png)", "",
                f"{a} minus {b} per language with 95% intervals; filled: significant after Holm correction. "
                f"SVG: [{diff}.svg]({diff}.svg).", "", f"![{a} against {b}]({scatter}.png)", "",
                f"Each language's F1 under {a} (x) against {b} (y), coloured by script; on the diagonal the two "
                f"are equal. SVG: [{scatter}.svg]({scatter}.svg)."]
    return out


def findings(an: Analysis, reference: dict[str, float], task) -> list[str]:
    """Sentences generated from the analysis: what differs, where, and whether it is significant."""
    out = []
    best = an.order[0]
    head = an.averages[best]["zero_shot"] or an.averages[best]["xtreme"]
    kind = "zero-shot average" if an.zero_shot else "average"
    n_head = _count(len(an.headline), "language")
    if len(an.order) == 1:
        out.append(f"- **{best}**: {kind} F1 {_pct(head.estimate)} (95% CI {_pct(head.ci_low)}–{_pct(head.ci_high)}) "
                   f"over {n_head}, from {_count(an.seeds(best), 'seed')}.")
    else:
        out.append(f"- **{best}** has the highest {kind} F1 ({_pct(head.estimate)}, 95% CI {_pct(head.ci_low)}–"
                   f"{_pct(head.ci_high)}) over {n_head}.")
    for (a, b), t in an.pair_tests.items():
        o = t["overall"]
        verdict = "significant" if t["overall_holm"] <= an.alpha else "not significant"
        diffs = {lang: t["per_language"][lang].estimate for lang in an.headline}
        top = [lang for lang in sorted(diffs, key=lambda lang: (-diffs[lang], lang)) if diffs[lang] > 0][:5]
        worse = sorted(t["b_better"], key=lambda lang: diffs[lang])
        worse_list = f" ({', '.join(worse)})" if 0 < len(worse) <= 10 else ""
        sentence = (f"- {a} vs {b}: {'+' if o.estimate > 0 else ''}{_pct(o.estimate)} points on the {kind} "
                    f"(95% CI {_pct(o.ci_low)} to {_pct(o.ci_high)}; {verdict} after Holm, "
                    f"p {_p_phrase(t['overall_holm'])}); {a} is significantly better on {len(t['a_better'])} of "
                    f"{n_head} and worse on {len(t['b_better'])}{worse_list}.")
        if top:
            sentence += " Largest gains: " + ", ".join(f"{lang} ({_pct(diffs[lang])})" for lang in top) + "."
        latin = [lang for lang in an.headline if task.language(lang).script == "Latn"]
        other = [lang for lang in an.headline if task.language(lang).known and task.language(lang).script != "Latn"]
        if latin and other:
            other_sig = sum(1 for lang in t["a_better"] if lang in other)
            sentence += (f" Mean difference on Latin-script languages {_pct(float(np.mean([diffs[x] for x in latin])))}"
                         f", on other scripts {_pct(float(np.mean([diffs[x] for x in other])))} ({a} significantly "
                         f"better on {other_sig} of {_count(len(other), 'non-Latin-script language')}).")
        out.append(sentence)
    shared = [lang for lang in an.zero_shot if lang in reference]
    if shared:
        # The reference holds whole numbers read off a heatmap: gaps are whole numbers too.
        gaps = {lang: round(100 * an.per_language[best][lang].estimate) - round(reference[lang]) for lang in shared}
        above = sorted((lang for lang in shared if gaps[lang] > 0), key=lambda lang: (-gaps[lang], lang))
        below = sorted((lang for lang in shared if gaps[lang] <= 0), key=lambda lang: (gaps[lang], lang))
        sentence = (f"- Against Rahimi et al. (2019)'s English-to-X BiLSTM-CRF with MUSE embeddings (a different, "
                    f"pre-transformer system, shown for orientation; its figures are whole numbers read off a "
                    f"heatmap, so gaps are given to the whole point): {best} is higher on {len(above)} of "
                    f"{_count(len(shared), 'shared language')}, by {float(np.mean(list(gaps.values()))):+.0f} points "
                    "on average")
        if above:
            sentence += "; most above on " + ", ".join(f"{lang} ({gaps[lang]:+d})" for lang in above[:3])
        if below:
            sentence += "; not above on " + ", ".join(f"{lang} ({gaps[lang]:+d})" for lang in below[:10])
            sentence += f" and {len(below) - 10} more" if len(below) > 10 else ""
        out.append(sentence + ".")
    low = [lang for lang in an.headline if an.n_sentences[lang] <= LOW_POWER_SENTENCES]
    if low:
        out.append(f"- {_count(len(low), 'language')} {'has' if len(low) == 1 else 'have'} at most "
                   f"{LOW_POWER_SENTENCES} test sentences ({', '.join(low)}): differences there rarely reach "
                   "significance.")
    unknown = [lang for lang in an.languages if not task.language(lang).known]
    if unknown:
        out.append(f"- Not declared by task {task.name} (unknown language, script unknown): {', '.join(unknown)}.")
    return out


def _footnote(an: Analysis) -> str:
    seeds = "; ".join(f"{m}: {', '.join(map(str, an.group.models[m].seeds))}" for m in an.order)
    return (f"Method: {METHOD} ({an.sample.n_resamples:,} resamples of the test sentences, paired across models, "
            f"stratified by language for averages); intervals are symmetric, ± their half-width, and p-values "
            f"come from the same distributions. Stated 95%, measured coverage {coverage_sentence()} in a "
            "simulation with the seed variance of the committed runs (docs/statistics.md). Holm-Bonferroni "
            f"correction at alpha = {an.alpha} across languages within a row group (per-language markers, K-of-L "
            f"counts) and across model pairs (ranks, average tests). Seeds: {seeds}. F1: seqeval, mode "
            f"{an.group.seqeval_mode} (conlleval-compatible span matching).")


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


def write_reports(results_dir: Path, reports_dir: Path, formats: tuple[str, ...], n_resamples: int, seed: int,
                  alpha: float, reference_path: Path | None = None, data_dir: Path | None = None,
                  reference_required: bool = False) -> list[Path]:
    """``reference_path`` (a CSV given on the command line) is shown beside every report; without it
    a report shows the reference its task file names, if any."""
    from benchmark.report.charts import render_pictures

    given = read_reference(reference_path, required=reference_required) if reference_path else None
    written = []
    for group in load_groups(results_dir):
        mark_stale(group, data_dir)
        declared = get_task(group.task).reference
        reference = given if given is not None else (
            read_reference(default_reference(declared)) if declared else {})
        an = analyse(group, n_resamples, seed, alpha)
        stem = f"{group.task}-{group.recipe}-{group.source}" if group.source else f"{group.task}-{group.recipe}"
        reports_dir.mkdir(parents=True, exist_ok=True)
        # Rows hold full precision, so that the markdown rounds once (as the findings do); the
        # files round F1 figures to 2 decimals.
        tables = {"leaderboard": _rounded(leaderboard_rows(an)), "languages": _rounded(language_rows(an, reference)),
                  "pairs": _rounded(pair_rows(an))}
        if "md" in formats:
            pictures = render_pictures(an, reports_dir, stem)
            for name in pictures.values():
                written += [reports_dir / f"{name}.png", reports_dir / f"{name}.svg"]
            (reports_dir / f"{stem}.md").write_text(render_markdown(an, reference, pictures), encoding="utf-8")
            written.insert(0, reports_dir / f"{stem}.md")
        long = long_rows(group)
        if "json" in formats:
            payload = {"task": group.task, "recipe": group.recipe, "source": group.source, "languages": an.languages,
                       "zero_shot": an.zero_shot, "in_language": an.in_language, "missing": an.missing,
                       "interval_method": METHOD, **tables}
            if group.stale:
                payload["stale"] = {f"{m} seed {seed}": langs for (m, seed), langs in sorted(group.stale.items())}
            (reports_dir / f"{stem}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
            (reports_dir / f"{stem}-scores.json").write_text(json.dumps(long, indent=0, ensure_ascii=False) + "\n",
                                                             encoding="utf-8")
            written += [reports_dir / f"{stem}.json", reports_dir / f"{stem}-scores.json"]
        if "csv" in formats:
            fields = {"pairs": PAIR_FIELDS}
            for name, rows in tables.items():
                path = reports_dir / f"{stem}-{name}.csv"
                path.write_text(_csv(rows, fields.get(name)), encoding="utf-8")
                written.append(path)
            (reports_dir / f"{stem}-scores.csv").write_text(_csv(long, LONG_FIELDS), encoding="utf-8")
            written.append(reports_dir / f"{stem}-scores.csv")
        if "parquet" in formats:
            written.append(_write_parquet(long, reports_dir / f"{stem}-scores.parquet"))
    return written


def _write_parquet(rows: list[dict], path: Path) -> Path:
    try:
        import pandas as pd
    except ImportError:
        raise XbenchError("--format parquet needs pandas and pyarrow (pip install pandas pyarrow)") from None
    frame = pd.DataFrame(rows, columns=LONG_FIELDS)
    try:
        frame.to_parquet(path, index=False)
    except ImportError as err:
        raise XbenchError(f"--format parquet: {err}") from None
    return path


def _rounded(rows: list[dict]) -> list[dict]:
    """F1 figures (in %) to 2 decimals for the csv/json files; p-values and counts as they are."""
    keep = ("p", "p_holm", "wilcoxon_p", "aso_eps_min")
    return [{k: round(v, 2) if isinstance(v, float) and k not in keep else v for k, v in row.items()}
            for row in rows]


def _csv(rows: list[dict], fieldnames: list[str] | None = None) -> str:
    """CSV with a header line, also when there are no rows (pandas reads it as an empty table)."""
    fieldnames = fieldnames or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


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
                         _pct(an.per_language[model_a][lang].estimate), _pct(an.per_language[model_b][lang].estimate),
                         f"{100 * sign * c.estimate:+.2f}", f"[{100 * lo:+.2f}, {100 * hi:+.2f}]", _p(c.p_value),
                         _p(t["holm"][lang]), "*" if t["holm"][lang] <= alpha else ""])
        a_wins, b_wins = ((len(t["a_better"]), len(t["b_better"])) if sign == 1
                          else (len(t["b_better"]), len(t["a_better"])))
        o = t["overall"]
        lo, hi = sorted((sign * o.ci_low, sign * o.ci_high))
        kind = "zero-shot average" if an.zero_shot else "average"
        out.append(f"{g.task} ({recipe_label(g)}) from {g.source}: {model_a} (A) vs {model_b} (B), "
                   f"{_count(len(an.headline), 'zero-shot language' if an.zero_shot else 'language')}\n"
                   + tabulate(rows, headers=["lang", "A F1", "B F1", "A−B", "95% CI", "p", "p Holm", "sig"],
                              disable_numparse=True, colalign=("left",) + ("right",) * 7)
                   + f"\n\n{kind} A−B {100 * sign * o.estimate:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}], "
                   f"p {_p(o.p_value)}; "
                   f"A better on {a_wins} of {_count(len(an.headline), 'language')}, B better on {b_wins} "
                   f"(Holm, alpha {alpha}; {METHOD}, {n_resamples:,} resamples; seeds A {an.seeds(model_a)}, "
                   f"B {an.seeds(model_b)})")
        if an.missing:
            out.append("incomplete: " + "; ".join(an.missing))
    return "\n\n".join(out)
