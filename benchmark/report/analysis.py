"""The analysis behind ``xbench report`` and ``xbench compare``: seed-honest CIs and corrected tests.

Reads result files only (no model, no data): per-sentence counts from the predictions sidecars
feed one paired sentence bootstrap per language (:func:`stats.resample_languages`, all seeds
kept), which :func:`intervals.seed_interval` combines with the spread over seeds into every
interval and test of the report. The source language's own test split is in-language and kept
apart; the headline average is over zero-shot targets. The tables, the markdown and the pictures
all read one :class:`Analysis`, so they cannot disagree.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from benchmark.errors import XbenchError
from benchmark.report.groups import Group, coverage, load_counts
from benchmark.results.store import AS_GIVEN, IMPORTED, IN_LANGUAGE
from benchmark.stats.aso import almost_stochastic_order
from benchmark.stats.intervals import SeedInterval, seed_interval
from benchmark.stats.language_resamples import LanguageResamples, resample_languages
from benchmark.stats.multiple import holm, wilcoxon_languages

LOW_POWER_SENTENCES = 150  # WikiANN's smallest test splits hold 100 sentences
FEW_SEEDS = 5  # below this the report warns that seed variance rests on few fine-tunes


@dataclass
class Analysis:
    """Everything a report says about one group, computed once.

    Intervals and tests come from :func:`benchmark.stats.intervals.seed_interval`: per-seed scores for
    the seed part, one paired sentence bootstrap (all seeds kept) for the sentence part.
    """

    group: Group
    languages: list[str]  # every language all runs have
    in_language: list[str]  # of those, the source language(s): in-language, not zero-shot
    zero_shot: list[str]
    missing: list[str]
    sample: LanguageResamples
    per_seed_f1: dict[str, dict[str, np.ndarray]]
    order: list[str]  # models by zero-shot average F1, best first
    ranks: dict[str, int]
    averages: dict[str, dict[str, SeedInterval]]  # model -> {"zero_shot", "xtreme", "in_language"}
    per_language: dict[str, dict[str, SeedInterval]]
    pair_tests: dict[tuple[str, str], dict]
    best_marked: dict[str, bool]
    alpha: float
    n_sentences: dict[str, int]

    @property
    def headline(self) -> list[str]:
        """The languages the headline average is over: zero-shot ones, or all when there are none."""
        return self.zero_shot or self.languages

    def seeds(self, model: str) -> int:
        return len(self.group.models[model].seeds)


@contextmanager
def _progress(total: int, desc: str):
    """Progress on stderr: a bar on a terminal (shown after 1.5 s), elsewhere a plain line every
    30 s of a long step (no closing line: a quick report prints nothing), nothing with --quiet."""
    from benchmark.progress import LineProgress, current_mode

    mode = current_mode()
    if mode == "bars":
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, unit="lang", leave=False, delay=1.5, dynamic_ncols=True) as bar:
            yield bar
    else:
        yield LineProgress(total, desc, "lang", quiet=mode == "quiet")


def analyse(group: Group, n_resamples: int, seed: int, alpha: float) -> Analysis:
    languages, missing = coverage(group)
    if not languages:
        raise XbenchError(f"{group.task} from {group.source}: no target language is common to all runs; "
                          + "; ".join(missing))
    sources = set(group.source.split("+")) if group.source else set()
    if group.source == IN_LANGUAGE:  # each language trained on its own data: every target is in-language
        sources = set(languages)
    in_language = [lang for lang in languages if lang in sources]
    zero_shot = [lang for lang in languages if lang not in sources]
    with _progress(len(languages) * len(group.models), f"reading {group.task} {group.recipe} predictions") as bar:
        counts = load_counts(group, languages, progress=lambda _: bar.update())
    with _progress(len(languages), f"bootstrap {group.task} {group.recipe}") as bar:
        sample = resample_languages(counts, n_resamples=n_resamples, seed=seed, resample_seeds=False,
                                    progress=lambda _: bar.update())
    per_seed = {m: {lang: np.array([_f1(c) for c in counts[m][lang]]) for lang in languages} for m in counts}

    def interval(models: list[str], langs: list[str]) -> SeedInterval:
        scores = [np.mean([per_seed[m][lang] for lang in langs], axis=0) for m in models]
        reps = [np.mean([sample.replicates[m][lang] for lang in langs], axis=0) for m in models]
        return seed_interval(scores, reps[0] if len(reps) == 1 else reps[0] - reps[1], alpha)

    averages = {m: {"zero_shot": interval([m], zero_shot) if zero_shot else None,
                    "xtreme": interval([m], languages),
                    "in_language": interval([m], in_language) if in_language else None} for m in counts}
    headline = zero_shot or languages
    order = sorted(counts, key=lambda m: (-(averages[m]["zero_shot"] or averages[m]["xtreme"]).estimate, m))
    per_language = {m: {lang: interval([m], [lang]) for lang in languages} for m in counts}
    pair_tests: dict[tuple[str, str], dict] = {}
    for a, b in combinations(order, 2):
        per_lang = {lang: interval([a, b], [lang]) for lang in languages}
        holm_p: dict[str, float] = {}
        for block in (zero_shot, in_language):  # corrected within each row group
            holm_p.update(zip(block, holm([per_lang[lang].p_value for lang in block]) if block else []))
        a_better = [lang for lang in headline if holm_p[lang] <= alpha and per_lang[lang].estimate > 0]
        b_better = [lang for lang in headline if holm_p[lang] <= alpha and per_lang[lang].estimate < 0]
        seed_avg_a = np.mean([per_seed[a][lang] for lang in headline], axis=0)
        seed_avg_b = np.mean([per_seed[b][lang] for lang in headline], axis=0)
        enough_seeds = min(len(seed_avg_a), len(seed_avg_b)) > 1
        pair_tests[(a, b)] = {
            "overall": interval([a, b], headline), "xtreme": interval([a, b], languages),
            "per_language": per_lang, "holm": holm_p, "a_better": a_better, "b_better": b_better,
            "wilcoxon": wilcoxon_languages([per_lang[lang].estimate for lang in headline]),
            "aso": almost_stochastic_order(seed_avg_a, seed_avg_b, seed=seed) if enough_seeds else float("nan")}
    pairs = list(pair_tests)
    for pair, p in zip(pairs, holm([pair_tests[p]["overall"].p_value for p in pairs]) if pairs else []):
        pair_tests[pair]["overall_holm"] = float(p)
    # Rank = 1 + the number of models significantly better on the headline average (Holm over all
    # pairs): models that no test separates share a rank instead of being ordered by noise.
    ranks = {m: 1 + sum(1 for (a, b), t in pair_tests.items()
                        if b == m and t["overall_holm"] <= alpha and t["overall"].estimate > 0) for m in order}
    best_marked = {}
    for lang in languages:
        best = max(order, key=lambda m: per_language[m][lang].estimate)
        others = [m for m in order if m != best]
        best_marked[lang] = bool(others) and all(
            _pair_holm(pair_tests, best, o, lang) <= alpha for o in others)
    n_sentences = {lang: counts[order[0]][lang].shape[1] for lang in languages}
    return Analysis(group, languages, in_language, zero_shot, missing, sample, per_seed, order, ranks, averages,
                    per_language, pair_tests, best_marked, alpha, n_sentences)


def _f1(c: np.ndarray) -> float:
    tp, fp, fn = c.sum(axis=0)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _pair_holm(tests, a, b, lang) -> float:
    if (a, b) in tests:
        return tests[(a, b)]["holm"][lang]
    return tests[(b, a)]["holm"][lang]


def recipe_label(group: Group) -> str:
    if group.recipe == AS_GIVEN:
        return "evaluated as given, no training"
    if group.recipe == IMPORTED:
        return "imported predictions"
    return f"recipe {group.recipe}"


def recipe_settings(group: Group) -> str:
    """The recipe's fields as the result files record them (the same in every file of a group)."""
    if group.recipe == AS_GIVEN:
        return ("Each model was evaluated as it was given (already fine-tuned for NER elsewhere); "
                "xbench trained nothing.")
    if group.recipe == IMPORTED:
        return ("Each system's test predictions were made elsewhere and imported with `xbench import`; xbench "
                "trained and ran nothing, and scored the predictions against the task's test files (see "
                "Imported predictions below).")
    recipe = next(iter(next(iter(group.models.values())).results.values())).get("recipe") or {}
    fields = [f"{k} {v}" for k, v in recipe.items() if k not in ("name", "description")]
    text = f"Recipe `{group.recipe}`"
    if recipe.get("description"):
        text += f": {recipe['description'].rstrip('.')}."
    return text + (f" Settings: {', '.join(fields)}." if fields else "")


#: The registry's named pretraining sets and the key a task's ``pretrained_in`` uses for each.
PRETRAINING_CORPORA = {"xlmr100": "xlmr", "mbert104": "mbert"}


def unseen_in_pretraining(pretrained: set[str] | None, lang: str, declared: tuple[str, ...]) -> bool:
    """Whether a model (its stored pretraining languages) never saw target ``lang`` in pretraining.

    The stored sets use WikiANN's codes (ISO 639-1 where there is one: ``sw``, ``xh``), while a task
    such as MasakhaNER names languages by ISO 639-3 (``swa``, ``xho``); for a model pretrained on
    one of the registry's named corpora, the task's own ``pretrained_in`` for the language decides.
    Unknown pretraining (None) or none at all (random weights) marks nothing.
    """
    from benchmark.models.registry import registry

    if not pretrained or lang in pretrained:
        return False
    _, sets = registry()
    corpus = next((key for name, key in PRETRAINING_CORPORA.items() if set(sets.get(name, ())) == pretrained), None)
    return corpus is None or corpus not in declared
