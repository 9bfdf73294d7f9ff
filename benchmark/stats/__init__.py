"""Statistics over per-sentence counts, needing only numpy and scipy: F1 from counts, the paired
bootstrap, approximate randomisation, Holm, Wilcoxon, almost stochastic order, seed intervals
and their measured coverage."""
