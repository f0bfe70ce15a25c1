"""Analysis of trained runs: CKA, training-size scans, timing, plots.

Import the submodules directly (``from eventgnn.analysis.cka import linear_cka``); this package
imports nothing heavy itself.
"""
