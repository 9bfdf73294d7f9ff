"""The report's "What the numbers say": sentences generated from the analysis.

What differs, where, and whether it is significant, in words a reader can check against the
tables (the same rounding). Generated, so that no claim in a report outruns its numbers.
"""

from __future__ import annotations

import numpy as np

from benchmark.report.analysis import LOW_POWER_SENTENCES, Analysis
from benchmark.report.formatting import counted, p_phrase, pct


def findings(an: Analysis, reference: dict[str, float], task) -> list[str]:
    """Sentences generated from the analysis: what differs, where, and whether it is significant."""
    out = []
    best = an.order[0]
    head = an.averages[best]["zero_shot"] or an.averages[best]["xtreme"]
    kind = "zero-shot average" if an.zero_shot else "average"
    n_head = counted(len(an.headline), "language")
    if len(an.order) == 1:
        out.append(f"- **{best}**: {kind} F1 {pct(head.estimate)} (95% CI {pct(head.ci_low)}–{pct(head.ci_high)}) "
                   f"over {n_head}, from {counted(an.seeds(best), 'seed')}.")
    else:
        out.append(f"- **{best}** has the highest {kind} F1 ({pct(head.estimate)}, 95% CI {pct(head.ci_low)}–"
                   f"{pct(head.ci_high)}) over {n_head}.")
    for (a, b), t in an.pair_tests.items():
        o = t["overall"]
        verdict = "significant" if t["overall_holm"] <= an.alpha else "not significant"
        diffs = {lang: t["per_language"][lang].estimate for lang in an.headline}
        top = [lang for lang in sorted(diffs, key=lambda lang: (-diffs[lang], lang)) if diffs[lang] > 0][:5]
        worse = sorted(t["b_better"], key=lambda lang: diffs[lang])
        worse_list = f" ({', '.join(worse)})" if 0 < len(worse) <= 10 else ""
        sentence = (f"- {a} vs {b}: {'+' if o.estimate > 0 else ''}{pct(o.estimate)} points on the {kind} "
                    f"(95% CI {pct(o.ci_low)} to {pct(o.ci_high)}; {verdict} after Holm, "
                    f"p {p_phrase(t['overall_holm'])}); {a} is significantly better on {len(t['a_better'])} of "
                    f"{n_head} and worse on {len(t['b_better'])}{worse_list}.")
        if top:
            sentence += " Largest gains: " + ", ".join(f"{lang} ({pct(diffs[lang])})" for lang in top) + "."
        latin = [lang for lang in an.headline if task.language(lang).script == "Latn"]
        other = [lang for lang in an.headline if task.language(lang).known and task.language(lang).script != "Latn"]
        if latin and other:
            other_sig = sum(1 for lang in t["a_better"] if lang in other)
            sentence += (f" Mean difference on Latin-script languages {pct(float(np.mean([diffs[x] for x in latin])))}"
                         f", on other scripts {pct(float(np.mean([diffs[x] for x in other])))} ({a} significantly "
                         f"better on {other_sig} of {counted(len(other), 'non-Latin-script language')}).")
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
                    f"{counted(len(shared), 'shared language')}, by {float(np.mean(list(gaps.values()))):+.0f} points "
                    "on average")
        if above:
            sentence += "; most above on " + ", ".join(f"{lang} ({gaps[lang]:+d})" for lang in above[:3])
        if below:
            sentence += "; not above on " + ", ".join(f"{lang} ({gaps[lang]:+d})" for lang in below[:10])
            sentence += f" and {len(below) - 10} more" if len(below) > 10 else ""
        out.append(sentence + ".")
    low = [lang for lang in an.headline if an.n_sentences[lang] <= LOW_POWER_SENTENCES]
    if low:
        out.append(f"- {counted(len(low), 'language')} {'has' if len(low) == 1 else 'have'} at most "
                   f"{LOW_POWER_SENTENCES} test sentences ({', '.join(low)}): differences there rarely reach "
                   "significance.")
    unknown = [lang for lang in an.languages if not task.language(lang).known]
    if unknown:
        out.append(f"- Not declared by task {task.name} (unknown language, script unknown): {', '.join(unknown)}.")
    return out
