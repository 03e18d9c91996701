"""Analysis: historical targets and their scoring, calibration, paired effects and the thesis, sensitivity, the search for flips, explanations."""
