"""Statistics over per-sentence counts, needing only numpy and scipy: F1 from counts, the paired
bootstrap, approximate randomisation, Holm, Wilcoxon, almost stochastic order, seed intervals
and their measured coverage.

Why: a cross-lingual NER benchmark compares two systems on dozens of languages, each system
trained with a few random seeds. A difference of one F1 point on one language may be noise from
the test sentences (which sentences happened to be in the test set) or from training (which
seed). The modules here put a number on both sources of noise.

Modules, bottom up:

- ``counts``: corpus-level span F1 from summed TP/FP/FN counts, the checks on counts, per-seed
  F1 and its mean (:func:`~benchmark.stats.counts.system_f1`);
- ``resampling``: what the resampling tests share: their results (``Comparison``, ``Estimate``),
  argument checks, chunked exact arithmetic, tie tolerance;
- ``bootstrap``: the paired two-level (sentences x seeds) bootstrap on one language and
  averaged over a language set (``paired_bootstrap``, ``average_with_ci``,
  ``paired_average_difference``);
- ``randomization``: paired approximate randomisation (``approximate_randomization``);
- ``multiple``: many languages at once (``holm``, ``count_wins``, ``wilcoxon_languages``);
- ``aso``: almost stochastic order over per-seed scores (``almost_stochastic_order``,
  ``ASO_THRESHOLD``; Dror et al. 2019);
- ``language_resamples``: one resampling for a whole report (``resample_languages``);
- ``intervals``: seed-honest confidence intervals (``seed_interval``);
- ``coverage``: the simulation that measures how often those intervals cover.
"""
