"""``xbench report`` and ``xbench compare``: leaderboards with CIs and corrected significance.

Reads result files only (no model, no data): per-sentence counts from the predictions
sidecars feed one paired two-level bootstrap per language (:func:`stats.resample_languages`),
from which every interval and test of the report is read. Reports are generated, never edited:
the same results give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from benchmark.errors import XbenchError
from benchmark.results import iter_result_files, read_predictions, read_result, recipe_key_of
from benchmark.stats import (
    ASO_THRESHOLD,
    LanguageResamples,
    almost_stochastic_order,
    holm,
    resample_languages,
    wilcoxon_languages,
)
from benchmark.tasks import get_task

LOW_POWER_SENTENCES = 150  # WikiANN's smallest test splits hold 100 sentences
REFERENCE_ENV = "XBENCH_REFERENCE"


def default_reference() -> Path:
    """Rahimi et al.'s published numbers, where the project's ``shared/`` folder puts them."""
    if os.environ.get(REFERENCE_ENV):
        return Path(os.environ[REFERENCE_ENV])
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "rahimi2019.csv"


@dataclass
class ModelRuns:
    """One model's runs in a report group: seed -> result, with where the results live."""

    name: str
    results: dict[int, dict] = field(default_factory=dict)
    paths: dict[int, Path] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.results)

    def pretraining_languages(self) -> set[str] | None:
        langs = next(iter(self.results.values()))["model"].get("pretraining_languages")
        return None if langs is None else set(langs)


@dataclass
class Group:
    task: str
    source: str
    models: dict[str, ModelRuns]
    seqeval_mode: str
    recipe: str = ""  # the recipe key: results of different recipes never share a table
    stale: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (model, seed) -> stale targets


def _skipped(line: str) -> None:
    """Something damaged is left out of a report or comparison: one line, and the rest goes on."""
    import sys

    print(f"xbench: skipped {line}", file=sys.stderr)


def _readable(results_dir: Path, path: Path) -> tuple[dict, str] | None:
    """(result, recipe key), leaving out damaged targets; None (and one line) for a damaged file."""
    from benchmark.rerun import rerun_command
    from benchmark.results import sidecar_problem

    try:
        result, recipe = read_result(path), recipe_key_of(results_dir, path)
    except XbenchError as err:
        _skipped(f"{err}")
        return None
    for lang in sorted(result["targets"]):
        problem = sidecar_problem(path, result["targets"][lang])
        if problem:
            _skipped(f"{result['model']['name']} seed {result['seed']} on {lang}: {problem}; recompute it with: "
                     f"{rerun_command(result, results_dir, [lang])}")
            del result["targets"][lang]
    return result, recipe


def load_groups(results_dir: Path) -> list[Group]:
    """Result files grouped by (task, recipe, source); mixing seqeval modes in a group is an error."""
    files = iter_result_files(results_dir)
    if not files:
        raise XbenchError(f"no result files under {results_dir}; run `xbench run` first")
    groups: dict[tuple[str, str, str], Group] = {}
    for path in files:
        readable = _readable(results_dir, path)
        if readable is None:
            continue
        result, recipe = readable
        key = (result["task"], recipe, "+".join(sorted(result["sources"])))
        group = groups.setdefault(key, Group(key[0], key[2], {}, result["seqeval_mode"], key[1]))
        if result["seqeval_mode"] != group.seqeval_mode:
            raise XbenchError(f"{path}: scored in seqeval mode {result['seqeval_mode']!r}, other results of "
                              f"{key[0]} from {key[2]} in {group.seqeval_mode!r}; scores of different modes "
                              "cannot be compared")
        runs = group.models.setdefault(result["model"]["name"], ModelRuns(result["model"]["name"]))
        runs.results[int(result["seed"])] = result
        runs.paths[int(result["seed"])] = path
    if not groups:
        raise XbenchError(f"no readable result files under {results_dir} (each damaged one is named above)")
    return [groups[k] for k in sorted(groups)]


def mark_stale(group: Group, data_dir: Path | None) -> None:
    """Note each run's stale scores (test data changed since): the report marks them."""
    from benchmark.staleness import stale_targets

    for m in group.models.values():
        for seed, result in m.results.items():
            stale = stale_targets(result, data_dir)
            if stale:
                group.stale[(m.name, seed)] = stale


def coverage(group: Group) -> tuple[list[str], list[str]]:
    """(languages every run has, lines saying what some runs lack)."""
    all_targets = sorted({t for m in group.models.values() for r in m.results.values() for t in r["targets"]})
    common = [t for t in all_targets
              if all(t in r["targets"] for m in group.models.values() for r in m.results.values())]
    missing = []
    for m in sorted(group.models.values(), key=lambda m: m.name):
        for seed in m.seeds:
            lacks = [t for t in all_targets if t not in m.results[seed]["targets"]]
            if lacks:
                missing.append(f"{m.name} seed {seed} lacks {len(lacks)} of {len(all_targets)} targets: "
                               f"{', '.join(lacks)}")
    seed_counts = {m.name: len(m.seeds) for m in group.models.values()}
    if len(set(seed_counts.values())) > 1:
        missing.append("seeds differ between models: " + ", ".join(f"{k} {v}" for k, v in sorted(seed_counts.items())))
    return common, missing


def load_counts(group: Group, languages: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per-sentence (TP, FP, FN) of every model, language and seed: (n_seeds, n_sentences, 3)."""
    counts: dict[str, dict[str, np.ndarray]] = {}
    for m in group.models.values():
        counts[m.name] = {}
        for lang in languages:
            rows = []
            for seed in m.seeds:
                target = m.results[seed]["targets"][lang]
                sidecar = m.paths[seed].parent / target["predictions"]["file"]
                rows.append(np.asarray(read_predictions(sidecar, target["predictions"]["sha256"])["counts"],
                                       dtype=np.int64).reshape(-1, 3))
            if len({r.shape[0] for r in rows}) != 1:
                raise XbenchError(f"{m.name} on {lang}: seeds were scored on different numbers of test sentences "
                                  "(mixed --test-limit?); rerun them alike")
            counts[m.name][lang] = np.stack(rows)
    sizes = {lang: {c[lang].shape[1] for c in counts.values()} for lang in languages}
    uneven = [lang for lang, s in sizes.items() if len(s) > 1]
    if uneven:
        raise XbenchError(f"models were scored on different test sentences for {', '.join(uneven)} "
                          "(mixed --test-limit?); a paired comparison needs the same sentences")
    return counts


def read_reference(path: Path, required: bool = False) -> dict[str, float]:
    """Published F1 (%) per language from a CSV with columns ``lang,en_to_x``; {} when the default
    file is absent. A file given by hand that is missing or malformed is one clear line."""
    import math

    if not path.is_file():
        if required:
            raise XbenchError(f"--reference {path}: no such file")
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise XbenchError(f"{path}: reference file is not UTF-8 text; save it as a UTF-8 CSV with columns "
                          "lang,en_to_x") from None
    except OSError as err:
        raise XbenchError(f"{path}: cannot read the reference file ({err.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if not {"lang", "en_to_x"} <= set(columns):
        raise XbenchError(f"{path}: a reference file needs the columns lang,en_to_x; its header is "
                          f"{','.join(columns) or '(empty)'}")
    reference = {}
    for row in reader:
        value = (row.get("en_to_x") or "").strip()
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not math.isfinite(number) or not 0 <= number <= 100:
            raise XbenchError(f"{path}:{reader.line_num}: en_to_x {value!r} is not an F1 in % (a number from 0 to 100)")
        reference[row["lang"]] = number
    return reference


@dataclass
class Analysis:
    group: Group
    languages: list[str]
    missing: list[str]
    sample: LanguageResamples
    per_seed_f1: dict[str, dict[str, list[float]]]
    order: list[str]  # models by average F1, best first
    ranks: dict[str, int]
    pair_tests: dict[tuple[str, str], dict]
    best_marked: dict[str, bool]
    alpha: float
    n_sentences: dict[str, int]


def analyse(group: Group, n_resamples: int, seed: int, alpha: float) -> Analysis:
    languages, missing = coverage(group)
    if not languages:
        raise XbenchError(f"{group.task} from {group.source}: no target language is common to all runs; "
                          + "; ".join(missing))
    counts = load_counts(group, languages)
    sample = resample_languages(counts, n_resamples=n_resamples, seed=seed)
    per_seed = {m: {lang: [float(_f1(c)) for c in counts[m][lang]] for lang in languages} for m in counts}
    averages = {m: sample.average(m, alpha=alpha) for m in counts}
    order = sorted(counts, key=lambda m: (-averages[m].mean, m))
    pairs = list(combinations(order, 2))
    pair_tests: dict[tuple[str, str], dict] = {}
    average_p = []
    for a, b in pairs:
        overall = sample.compare(a, b, alpha=alpha)
        per_lang = {lang: sample.compare(a, b, [lang], alpha=alpha) for lang in languages}
        adjusted = holm([per_lang[lang].p_value for lang in languages])
        a_better = [lang for lang, p in zip(languages, adjusted) if p <= alpha and per_lang[lang].diff > 0]
        b_better = [lang for lang, p in zip(languages, adjusted) if p <= alpha and per_lang[lang].diff < 0]
        seed_avg_a = np.mean([per_seed[a][lang] for lang in languages], axis=0)
        seed_avg_b = np.mean([per_seed[b][lang] for lang in languages], axis=0)
        enough_seeds = min(len(seed_avg_a), len(seed_avg_b)) > 1
        aso = almost_stochastic_order(seed_avg_a, seed_avg_b, seed=seed) if enough_seeds else float("nan")
        pair_tests[(a, b)] = {"overall": overall, "per_language": per_lang,
                              "holm": dict(zip(languages, adjusted)), "a_better": a_better, "b_better": b_better,
                              "a_wins": len(a_better), "b_wins": len(b_better),
                              "wilcoxon": wilcoxon_languages([per_lang[lang].diff for lang in languages]),
                              "aso": aso}
        average_p.append(overall.p_value)
    adjusted_avg = holm(average_p) if average_p else []
    for (pair, p) in zip(pairs, adjusted_avg):
        pair_tests[pair]["overall_holm"] = float(p)
    # Rank = 1 + the number of models significantly better on the average (Holm over all pairs):
    # models that no test separates share a rank instead of being ordered by noise.
    ranks = {m: 1 + sum(1 for (a, b), t in pair_tests.items()
                        if b == m and t["overall_holm"] <= alpha and t["overall"].diff > 0) for m in order}
    best_marked = {}
    for lang in languages:
        best = max(order, key=lambda m: sample.observed[m][lang])
        others = [m for m in order if m != best]
        best_marked[lang] = bool(others) and all(
            _pair_holm(pair_tests, best, o, lang) <= alpha for o in others)
    n_sentences = {lang: counts[order[0]][lang].shape[1] for lang in languages}
    return Analysis(group, languages, missing, sample, per_seed, order, ranks, pair_tests, best_marked, alpha,
                    n_sentences)


def _f1(c: np.ndarray) -> float:
    tp, fp, fn = c.sum(axis=0)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _pair_holm(tests, a, b, lang) -> float:
    if (a, b) in tests:
        return tests[(a, b)]["holm"][lang]
    return tests[(b, a)]["holm"][lang]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def leaderboard_rows(an: Analysis) -> list[dict]:
    rows = []
    for m in an.order:
        est = an.sample.average(m, alpha=an.alpha)
        runs = an.group.models[m]
        rows.append({"rank": an.ranks[m], "model": m, "avg_f1": 100 * est.mean,
                     "ci_low": 100 * est.ci_low, "ci_high": 100 * est.ci_high,
                     "languages": len(an.languages), "seeds": len(runs.seeds)})
    return rows


def language_rows(an: Analysis, reference: dict[str, float]) -> list[dict]:
    task = get_task(an.group.task)
    rows = []
    for lang in sorted(an.languages, key=lambda lang: -an.sample.observed[an.order[0]][lang]):
        row = {"lang": lang, "language": task.languages[lang].name if lang in task.languages else lang,
               "script": task.languages[lang].script if lang in task.languages else "?",
               "test_sentences": an.n_sentences[lang]}
        best = max(an.order, key=lambda m: an.sample.observed[m][lang])
        for m in an.order:
            seeds = an.per_seed_f1[m][lang]
            row[f"{m} f1"] = 100 * float(np.mean(seeds))
            row[f"{m} sd"] = 100 * float(np.std(seeds, ddof=1)) if len(seeds) > 1 else None
            pretrained = an.group.models[m].pretraining_languages()
            row[f"{m} unseen"] = bool(pretrained) and lang not in pretrained
            row[f"{m} best_significant"] = m == best and an.best_marked[lang]
        row["rahimi_en_to_x"] = reference.get(lang)
        rows.append(row)
    return rows


def pair_rows(an: Analysis) -> list[dict]:
    rows = []
    for (a, b), t in an.pair_tests.items():
        o = t["overall"]
        rows.append({"a": a, "b": b, "avg_diff": 100 * o.diff, "ci_low": 100 * o.ci_low,
                     "ci_high": 100 * o.ci_high, "p": o.p_value, "p_holm": t["overall_holm"],
                     "a_better_on": t["a_wins"], "b_better_on": t["b_wins"], "languages": len(an.languages),
                     "wilcoxon_p": t["wilcoxon"], "aso_eps_min": None if np.isnan(t["aso"]) else round(t["aso"], 3)})
    return rows


def _markdown_table(headers: list[str], rows: list[list[str]], align: str) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _p_phrase(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def render_markdown(an: Analysis, reference: dict[str, float], chart_name: str) -> str:
    g = an.group
    task = get_task(g.task)
    seeds = sorted({s for m in g.models.values() for s in m.seeds})
    lines = [f"# {g.task}: zero-shot NER transfer from {g.source}", "",
             f"Generated by `xbench report` from {sum(len(m.seeds) for m in g.models.values())} result files; "
             "do not edit by hand. Span F1 (%) on each target language's test split.", ""]
    lines += ["## Leaderboard", ""]
    board = leaderboard_rows(an)
    lines.append(_markdown_table(
        ["rank", "model", f"average F1 over {len(an.languages)} languages (95% CI)", "seeds"],
        [[r["rank"], f"**{r['model']}**" if r["rank"] == 1 else r["model"],
          f"{r['avg_f1']:.1f} ({r['ci_low']:.1f}–{r['ci_high']:.1f})", r["seeds"]] for r in board], "rlrr"))
    tied = [r["model"] for r in board if r["rank"] == 1]
    lines.append("")
    if len(tied) > 1:
        lines.append(f"Ranks are tie groups: {', '.join(tied)} share rank 1 because no test separates them.")
    else:
        lines.append("Ranks are tie groups: a model's rank is 1 + the number of models significantly better "
                     "on the average.")
    if an.missing:
        lines += ["", f"**Incomplete results.** Averages use only the {len(an.languages)} languages every run has:"]
        lines += [f"- {m}" for m in an.missing]
    stale_langs = {lang for langs in g.stale.values() for lang in langs}
    if g.stale:
        lines += ["", "**Stale scores** (‡): the test data of these scores changed after they were computed; "
                  "they are shown as computed, and `xbench run` with the same options recomputes them:"]
        lines += [f"- {m} seed {seed}: {', '.join(langs)}" for (m, seed), langs in sorted(g.stale.items())]
    lines += ["", "## Per language", ""]
    headers = ["lang", "language", "script", "test"] + [m for m in an.order]
    has_reference = any(lang in reference for lang in an.languages)
    if has_reference:
        headers.append("Rahimi en→X")
    body = []
    for r in language_rows(an, reference):
        cells = [r["lang"] + (" ‡" if r["lang"] in stale_langs else ""), r["language"], r["script"],
                 f"{r['test_sentences']}" + (" ⚠" if r["test_sentences"] <= LOW_POWER_SENTENCES else "")]
        for m in an.order:
            cell = f"{r[f'{m} f1']:.1f}"
            if r[f"{m} sd"] is not None:
                cell += f" ± {r[f'{m} sd']:.1f}"
            if r[f"{m} best_significant"]:
                cell = f"**{cell}**†"
            if r[f"{m} unseen"]:
                cell += " °"
            cells.append(cell)
        if has_reference:
            cells.append("" if r["rahimi_en_to_x"] is None else f"{r['rahimi_en_to_x']:.0f}")
        body.append(cells)
    lines.append(_markdown_table(headers, body, "lllr" + "r" * len(an.order) + ("r" if has_reference else "")))
    lines += ["", f"![Per-language F1]({chart_name})", "", "## Pairwise comparisons", ""]
    lines.append(_markdown_table(
        ["A vs B", "A − B average (95% CI)", "p (Holm)", "A better on", "B better on", "Wilcoxon p", "ASO ε_min"],
        [[f"{r['a']} vs {r['b']}", f"{r['avg_diff']:+.1f} ({r['ci_low']:+.1f} to {r['ci_high']:+.1f})",
          _p(r["p_holm"]), f"{r['a_better_on']} of {r['languages']}", f"{r['b_better_on']} of {r['languages']}",
          _p(r["wilcoxon_p"]), "–" if r["aso_eps_min"] is None else f"{r['aso_eps_min']:.2f}"]
         for r in pair_rows(an)], "lrrrrrr"))
    lines += ["", "## What the numbers say", ""] + findings(an, reference, task)
    lines += ["", "---", "", _footnote(an, seeds)]
    return "\n".join(lines) + "\n"


def findings(an: Analysis, reference: dict[str, float], task) -> list[str]:
    """Sentences generated from the analysis: what differs, where, and whether it is significant."""
    out = []
    best = an.order[0]
    est = an.sample.average(best, alpha=an.alpha)
    out.append(f"- **{best}** has the highest average F1 ({_pct(est.mean)}, 95% CI {_pct(est.ci_low)}–"
               f"{_pct(est.ci_high)}) over {len(an.languages)} languages.")
    for (a, b), t in an.pair_tests.items():
        o = t["overall"]
        verdict = "significant" if t["overall_holm"] <= an.alpha else "not significant"
        diffs = {lang: t["per_language"][lang].diff for lang in an.languages}
        top = sorted(diffs, key=lambda lang: -diffs[lang])[:5]
        latin = [d for lang, d in diffs.items() if lang in task.languages and task.languages[lang].script == "Latn"]
        other = [d for lang, d in diffs.items() if lang in task.languages and task.languages[lang].script != "Latn"]
        gains = ", ".join(f"{lang} ({_pct(diffs[lang])})" for lang in top)
        worse = sorted(t["b_better"], key=lambda lang: diffs[lang])
        worse_list = f" ({', '.join(worse)})" if 0 < len(worse) <= 10 else ""
        sentence = (f"- {a} vs {b}: {_pct(o.diff)} points on average ({verdict} after Holm, "
                    f"p {_p_phrase(t['overall_holm'])}); {a} is significantly better on {t['a_wins']} of "
                    f"{len(an.languages)} languages and worse on {t['b_wins']}{worse_list}. Largest gains: {gains}.")
        if latin and other:
            non_latin_sig = sum(1 for lang in t["a_better"]
                                if lang in task.languages and task.languages[lang].script != "Latn")
            sentence += (f" Mean gain on Latin-script languages {_pct(float(np.mean(latin)))}, on other scripts "
                         f"{_pct(float(np.mean(other)))} (significant on {non_latin_sig} of {len(other)} "
                         "non-Latin-script languages).")
        out.append(sentence)
    shared = [lang for lang in an.languages if lang in reference]
    if shared:
        gaps = [100 * an.sample.observed[best][lang] - reference[lang] for lang in shared]
        above = sum(1 for g in gaps if g > 0)
        below = [f"{lang} ({gap:+.1f})" for lang, gap in sorted(zip(shared, gaps), key=lambda x: x[1]) if gap <= 0]
        biggest = [f"{lang} ({gap:+.1f})" for lang, gap in sorted(zip(shared, gaps), key=lambda x: -x[1])[:3]]
        out.append(f"- Against Rahimi et al. (2019)'s English-to-X BiLSTM-CRF with MUSE embeddings (a different, "
                   f"pre-transformer system, shown for orientation): {best} is higher on {above} of {len(shared)} "
                   f"shared languages, by {float(np.mean(gaps)):+.1f} points on average; most above on "
                   f"{', '.join(biggest)}" + (f"; not above on {', '.join(below[:10])}"
                                              f"{f' and {len(below) - 10} more' if len(below) > 10 else ''}."
                                              if below else "."))
    low = [lang for lang in an.languages if an.n_sentences[lang] <= LOW_POWER_SENTENCES]
    if low:
        out.append(f"- {len(low)} language(s) have at most {LOW_POWER_SENTENCES} test sentences ({', '.join(low)}): "
                   "differences there rarely reach significance.")
    return out


def _footnote(an: Analysis, seeds: list[int]) -> str:
    return (f"Method: paired bootstrap over test sentences, two-level with seeds resampled per model "
            f"({an.sample.n_resamples:,} resamples, seed-shared across languages for averages; percentile 95% "
            f"CIs; two-sided p by the shift method). Holm-Bonferroni correction at alpha = {an.alpha} across "
            f"languages (per-language markers, K-of-L counts) and across model pairs (ranks, average tests). "
            f"Seeds: {', '.join(map(str, seeds))}. F1: seqeval, mode {an.group.seqeval_mode} (conlleval-compatible "
            "span matching). † best model significantly better than every other model on that language; "
            f"° language not in the model's pretraining data; ⚠ at most {LOW_POWER_SENTENCES} test sentences "
            f"(low power). ASO: almost stochastic order over per-seed averages (Dror et al. 2019), A dominates "
            f"when ε_min < {ASO_THRESHOLD}. Reference column: Rahimi, Li & Cohn (2019), Fig. 5, English to X.")


def render_chart(an: Analysis, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted(an.languages, key=lambda lang: -an.sample.observed[an.order[0]][lang])
    fig, ax = plt.subplots(figsize=(max(8.0, 0.28 * len(langs)), 4.5), dpi=100)
    x = np.arange(len(langs))
    for m in an.order:
        means = [100 * float(np.mean(an.per_seed_f1[m][lang])) for lang in langs]
        sds = [100 * float(np.std(an.per_seed_f1[m][lang])) for lang in langs]
        ax.errorbar(x, means, yerr=sds, marker="o", markersize=4, linewidth=1, capsize=2, label=m)
    ax.set_xticks(x, langs, rotation=90, fontsize=8)
    ax.set_ylabel("span F1 (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{an.group.task}: zero-shot from {an.group.source} (mean ± sd over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_reports(results_dir: Path, reports_dir: Path, formats: tuple[str, ...], n_resamples: int, seed: int,
                  alpha: float, reference_path: Path, data_dir: Path | None = None,
                  reference_required: bool = False) -> list[Path]:
    reference = read_reference(reference_path, required=reference_required)
    written = []
    for group in load_groups(results_dir):
        mark_stale(group, data_dir)
        an = analyse(group, n_resamples, seed, alpha)
        stem = f"{group.task}-{group.source}"
        reports_dir.mkdir(parents=True, exist_ok=True)
        # Rows hold full precision, so that the markdown rounds once (as the findings do); the
        # files round F1 figures to 2 decimals.
        tables = {"leaderboard": _rounded(leaderboard_rows(an)), "languages": _rounded(language_rows(an, reference)),
                  "pairs": _rounded(pair_rows(an))}
        if "md" in formats:
            render_chart(an, reports_dir / f"{stem}.png")
            (reports_dir / f"{stem}.md").write_text(render_markdown(an, reference, f"{stem}.png"), encoding="utf-8")
            written += [reports_dir / f"{stem}.md", reports_dir / f"{stem}.png"]
        if "json" in formats:
            payload = {"task": group.task, "source": group.source, "languages": an.languages, "missing": an.missing,
                       **tables}
            if group.stale:
                payload["stale"] = {f"{m} seed {seed}": langs for (m, seed), langs in sorted(group.stale.items())}
            (reports_dir / f"{stem}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
            written.append(reports_dir / f"{stem}.json")
        if "csv" in formats:
            for name, rows in tables.items():
                path = reports_dir / f"{stem}-{name}.csv"
                path.write_text(_csv(rows), encoding="utf-8")
                written.append(path)
    return written


def _rounded(rows: list[dict]) -> list[dict]:
    """F1 figures (in %) to 2 decimals for the csv/json files; p-values and counts as they are."""
    keep = ("p", "p_holm", "wilcoxon_p", "aso_eps_min")
    return [{k: round(v, 2) if isinstance(v, float) and k not in keep else v for k, v in row.items()}
            for row in rows]


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
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
        for lang in an.languages:
            c = t["per_language"][lang]
            lo, hi = sorted((sign * c.ci_low, sign * c.ci_high))
            rows.append([lang, _pct(an.sample.observed[model_a][lang]), _pct(an.sample.observed[model_b][lang]),
                         f"{100 * sign * c.diff:+.2f}", f"[{100 * lo:+.2f}, {100 * hi:+.2f}]", _p(c.p_value),
                         _p(t["holm"][lang]), "*" if t["holm"][lang] <= alpha else ""])
        a_wins, b_wins = (t["a_wins"], t["b_wins"]) if sign == 1 else (t["b_wins"], t["a_wins"])
        o = t["overall"]
        lo, hi = sorted((sign * o.ci_low, sign * o.ci_high))
        out.append(f"{g.task} from {g.source}: {model_a} (A) vs {model_b} (B), {len(an.languages)} languages\n"
                   + tabulate(rows, headers=["lang", "A F1", "B F1", "A−B", "95% CI", "p", "p Holm", "sig"])
                   + f"\n\naverage A−B {100 * sign * o.diff:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}], "
                   f"p {_p(o.p_value)}; "
                   f"A better on {a_wins} of {len(an.languages)} languages, B better on {b_wins} "
                   f"(Holm, alpha {alpha}; {n_resamples:,} paired bootstrap resamples)")
        if an.missing:
            out.append("incomplete: " + "; ".join(an.missing))
    return "\n\n".join(out)
