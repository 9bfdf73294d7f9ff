"""Method notes for imported systems in a report: what was aligned, and xbench's F1 against the
F1 the system's authors printed for the same prediction file.

Generated from the result files alone (``xbench import`` stores the alignment counts and, when
given, the printed F1 per file), so the notes regenerate with the report.
"""

from __future__ import annotations

from dataclasses import dataclass

COLLAPSED_F1 = 0.01  # a run below 1% F1 learned nothing (a failed fine-tune), worth naming
NOTABLE_DIFFERENCE = 0.05  # points of F1: beyond rounding of the printed scores


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per file
class FileScore:
    system: str
    lang: str
    seed: int
    f1: float
    published: float | None
    published_sha256: str | None
    alignment: dict
    path: str
    content_sha256: str | None = None

    @property
    def difference(self) -> float:
        return 100 * (self.f1 - self.published)

    @property
    def all_exact(self) -> bool:
        return self.alignment["realigned"] == 0 and self.alignment["unalignable"] == 0


def imported_files(group) -> list[FileScore]:
    """Every imported (system, language, seed) of a report group, in a stable order: all the
    languages imported, also those the leaderboard leaves out because another system lacks them."""
    out = []
    for name in sorted(group.models):
        runs = group.models[name]
        for seed in runs.seeds:
            result = runs.results[seed]
            if "imported" not in result:
                continue
            for lang in sorted(result["targets"]):
                target = result["targets"][lang]
                published = target.get("published", {})
                stored = result["imported"]["files"][lang]
                out.append(FileScore(name, lang, seed, target["f1"], published.get("f1"), published.get("sha256"),
                                     target["alignment"], stored["path"], stored.get("content_sha256")))
    return out


def import_notes(group, languages: list[str]) -> list[str]:
    """Markdown lines (a section) for the imported systems of a group; none when there are none."""
    files = imported_files(group)
    if not files:
        return []
    lines = ["## Imported predictions", "",
             "Systems imported with `xbench import`: their own predictions, scored here against the task's "
             "test files. Sentences whose words equal the test file's are scored as they are; the others are "
             "aligned word to word (characters where words are split or merged) and the predicted tags carried "
             "to the gold words; an unalignable sentence counts its gold entities as missed and its predicted "
             "ones as spurious.", ""]
    for system in sorted({f.system for f in files}):
        mine = [f for f in files if f.system == system]
        seeds = sorted({f.seed for f in mine})
        total = {k: sum(f.alignment[k] for f in mine) for k in ("exact", "realigned", "unalignable")}
        langs_realigned = sorted({f.lang for f in mine if not f.all_exact})
        lines.append(f"- **{system}**: {len(mine)} files ({len({f.lang for f in mine})} languages x seeds "
                     f"{', '.join(map(str, seeds))}); sentences {total['exact']:,} exact, {total['realigned']:,} "
                     f"re-aligned, {total['unalignable']:,} unalignable"
                     + (f" (re-aligned in {', '.join(langs_realigned)})" if langs_realigned else "") + ".")
    collapsed = [f for f in files if f.f1 < COLLAPSED_F1]
    if collapsed:
        lines.append(f"- Runs that learned nothing (F1 below {100 * COLLAPSED_F1:.0f}, kept as the authors "
                     f"released them): " + ", ".join(f"{f.system} {f.lang} seed {f.seed}" for f in collapsed) + ".")
    repeats = repeated_predictions(files)
    if repeats:
        lines.append("- Identical predictions under different seeds of one system (all-O outputs of failed runs "
                     "are alike by nature; others may be one run filed twice): " + "; ".join(repeats) + ".")
    left_out = sorted({f.lang for f in files} - set(languages))
    if left_out:
        lines.append(f"- Imported but not on the leaderboard, because not every system has them: "
                     f"{', '.join(left_out)}; the comparison with printed scores below covers them.")
    lines += published_lines([f for f in files if f.published is not None])
    return lines


def repeated_predictions(files: list[FileScore]) -> list[str]:
    """``xlmr-large bam seeds 1 = 4`` for files of one system and language with equal content."""
    same: dict[tuple, list[FileScore]] = {}
    for f in files:
        if f.content_sha256:
            same.setdefault((f.system, f.lang, f.content_sha256), []).append(f)
    return [f"{system} {lang} seeds {' = '.join(str(f.seed) for f in group)}"
            + (" (F1 0)" if group[0].f1 < COLLAPSED_F1 else "")
            for (system, lang, _), group in sorted(same.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[1][0].seed))
            if len(group) > 1]


def _f1(counts) -> float:
    tp, fp, fn = counts
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def misfiled_scores(files: list[FileScore]) -> dict[FileScore, FileScore]:
    """Printed-score files that are byte for byte another system's for the same language and seed:
    each is mapped to the file it belongs with, the one whose predictions it agrees with best."""
    shared: dict[tuple, list[FileScore]] = {}
    for f in files:
        shared.setdefault((f.lang, f.seed, f.published_sha256), []).append(f)
    misfiled = {}
    for same in shared.values():
        if len(same) > 1:
            owner = min(same, key=lambda f: (abs(f.difference), f.system))
            misfiled.update({f: owner for f in same if f is not owner})
    return misfiled


def published_lines(files: list[FileScore]) -> list[str]:
    if not files:
        return []
    lines = [""]
    misfiled = misfiled_scores(files)
    if misfiled:
        for system in sorted({f.system for f in misfiled}):
            mine = [f for f in misfiled if f.system == system]
            owners = sorted({misfiled[f].system for f in mine})
            agree = max(abs(misfiled[f].difference) for f in mine)
            lines.append(f"{len(mine)} printed-score files of {system} ({', '.join(sorted({f.lang for f in mine}))}) "
                         f"are byte for byte those of {', '.join(owners)} for the same language and seed: they "
                         f"match {', '.join(owners)}'s predictions (within {agree:.2f} points) and not {system}'s "
                         f"(off by {sum(abs(f.difference) for f in mine) / len(mine):.2f} points on average), so they "
                         f"are {', '.join(owners)}'s scores filed twice upstream and are left out of the comparison "
                         "below.")
        lines.append("")
        files = [f for f in files if f not in misfiled]
    differences = [abs(f.difference) for f in files]
    exact = [f for f in files if f.all_exact]
    other = [f for f in files if not f.all_exact]
    worst = max(files, key=lambda f: (abs(f.difference), f.system, f.lang, f.seed))
    lines.append(f"xbench's F1 against the F1 the authors printed for the same file ({len(files)} files): "
                 f"mean absolute difference {sum(differences) / len(differences):.2f} points, largest "
                 f"{abs(worst.difference):.2f} ({worst.system} {worst.lang} seed {worst.seed}).")
    if exact:
        lines[-1] += (f" The {len(exact)} files whose sentences all equal the test file's agree within "
                      f"{max(abs(f.difference) for f in exact):.2f} points.")
    if other:
        mean_other = sum(abs(f.difference) for f in other) / len(other)
        large = [f for f in other if abs(f.difference) > NOTABLE_DIFFERENCE]
        by_lang = {lang: sum(1 for f in large if f.lang == lang) for lang in sorted({f.lang for f in large})}
        lines[-1] += (f" The {len(other)} files with sentences that differ from the test file's differ by "
                      f"{mean_other:.2f} points on average, by more than {NOTABLE_DIFFERENCE} in {len(large)}"
                      + (f" ({', '.join(f'{lang} {n}' for lang, n in by_lang.items())})" if large else "")
                      + ". Their test file was revised after the predictions were made (words split, merged or "
                      "respelled, and their gold tags with them): the authors scored against the file of their "
                      "time, xbench against the one in the data folder; where the difference is large, the last "
                      "column shows whether the re-aligned sentences are where it comes from.")
    large = [f for f in files if abs(f.difference) > NOTABLE_DIFFERENCE]
    if not large:
        return lines
    lines += ["", f"The largest difference per language among the files beyond {NOTABLE_DIFFERENCE} points:", "",
              "| lang | files beyond | system | seed | xbench F1 | printed F1 | difference | sentences exact / "
              "re-aligned / unalignable | F1 on exact / re-aligned sentences |",
              "|:--|--:|:--|--:|--:|--:|--:|--:|--:|"]
    worst_per_lang = {}
    for f in sorted(large, key=lambda f: (-abs(f.difference), f.system, f.lang, f.seed)):
        worst_per_lang.setdefault(f.lang, f)
    for lang, f in worst_per_lang.items():
        a = f.alignment
        split = (f"{100 * _f1(a['exact_counts']):.1f} / {100 * _f1(a['realigned_counts']):.1f}"
                 if a["realigned"] else "–")
        lines.append(f"| {lang} | {sum(1 for g in large if g.lang == lang)} | {f.system} | {f.seed} | "
                     f"{100 * f.f1:.2f} | {100 * f.published:.2f} | {f.difference:+.2f} | "
                     f"{a['exact']} / {a['realigned']} / {a['unalignable']} | {split} |")
    return lines
