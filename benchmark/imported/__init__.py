"""Other systems' predictions brought into the results store: CoNLL files read, aligned word by
word with the task's test split, scored as xbench's own runs are."""
