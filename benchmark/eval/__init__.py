"""Zero-shot evaluation: predicting one tag per word, span F1 from counts, and the pipeline that
scores many targets in one pass and writes their predictions."""
