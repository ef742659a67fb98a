"""Evaluations against known ground truth, behind `python main.py eval ...`.

`smoothing`: the smoothing filters on generated motion (uses smoothing and body, hence this layer);
`synthetic`: an estimator on rendered avatar motion.
"""
