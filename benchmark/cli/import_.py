"""``xbench import``: bring another pipeline's test-set predictions into the results store as a
system (the module is named import_ because import is a Python keyword)."""

from __future__ import annotations

import click

from benchmark.cli.group import cli
from benchmark.cli.options import SETTING_DEFAULTS, data_dir_option
from benchmark.config import setting


@cli.command("import")
@click.option("--task", "task_name", required=True, help="Task whose gold test data the predictions are for "
              "(e.g. masakhaner2).")
@click.option("--system", required=True, help="Name of the system in reports (letters, digits, . _ + -).")
@click.option("--predictions", "pattern", default=None,
              help="Path pattern of the prediction files with {lang} and {seed}, e.g. "
                   "'out/{lang}_xlmr/test_predictions{seed}.txt.gz'. CoNLL 'word tag' lines (space or tab), "
                   "a blank line between sentences, plain or gzip.")
@click.option("--file", "explicit", type=(str, str, click.Path(dir_okay=False)), multiple=True,
              metavar="LANG SEED PATH", help="One prediction file, instead of --predictions (repeatable).")
@click.option("--languages", "languages_spec", default=None,
              help="Languages to expand {lang} over: codes or a set of the task (e.g. african20).")
@click.option("--seeds", default=None, help="Seeds to expand {seed} over, e.g. 1-5 or 1,3,4.")
@click.option("--published", "published_pattern", default=None,
              help="Optional pattern of the authors' printed scores per file (a line 'f1 = 0.86'), e.g. "
                   "'out/{lang}_xlmr/test_result{seed}.txt'; stored beside xbench's F1 and compared in reports.")
@click.option("--source", default="in-language", show_default=True,
              help="What the system was trained on: in-language (each language on its own training split) or "
                   "a source language code for zero-shot systems.")
@click.option("--pretrained-in", default=None,
              help="Pretraining corpus of the system as the task file names it (xlmr, mbert): marks languages "
                   "outside it in reports.")
@data_dir_option
@click.option("--results-dir", type=click.Path(file_okay=False), default=None,
              help=f"{SETTING_DEFAULTS['results_dir']} Files go to <task>/imported/<system>/<source>/seed-N.json.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier import of other files for the same system "
              "and seed (the same files are always kept as they are).")
def import_command(task_name, system, pattern, explicit, languages_spec, seeds, published_pattern, source,
                   pretrained_in, data_dir, results_dir, overwrite):
    """Import another pipeline's test-set predictions as a system in the results store.

    Every file is checked against the task's gold test split before anything is written: the
    same number of sentences, tags among the task's labels. Sentences whose words equal the
    gold's are scored as they are; others are aligned word to word (characters where words are
    split or merged) and the predicted tags carried to the gold words; a sentence that cannot be
    aligned counts its gold entities as missed and its predicted ones as spurious. Prints, per
    file, how many sentences were exact, re-aligned and unalignable.
    """
    from pathlib import Path

    from benchmark.imported.importer import import_predictions
    from benchmark.run.plan import parse_seeds

    written = import_predictions(task_name, system, pattern, explicit, languages_spec,
                                 parse_seeds(seeds) if seeds else (), data_dir,
                                 Path(setting("results_dir", results_dir)), source=source,
                                 published_pattern=published_pattern, pretrained_in=pretrained_in,
                                 overwrite=overwrite, log=click.echo)
    for path in written:
        click.echo(f"wrote {path}")
