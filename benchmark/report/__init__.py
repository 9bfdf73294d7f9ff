"""Reports from the results store: loading report groups, the analysis (intervals, tests), tables,
markdown, pictures, file writing, model comparisons, import notes and error analysis."""
