"""Every figure eventgnn draws, from plain arrays: :mod:`.figures` (loss and ROC curves,
classifier-output distributions, accuracy versus training size, CKA matrices, the HEP style) and
:mod:`.run` (the plots of a run directory). Each function builds a
:class:`matplotlib.figure.Figure` without ``pyplot`` state, saves it when given ``out`` and
returns it. The package imports only matplotlib and numpy (and its own ``_core``), so every layer
may draw with it."""

from .figures import (
    SCORE_BINS,
    distinct_colors,
    hep_style,
    plot_cka_matrix,
    plot_loss_curves,
    plot_output_by_process,
    plot_output_distribution,
    plot_roc,
    plot_scaling,
    roc_points,
    save,
    score_histogram,
    unit_area,
)
from .run import plot_run

__all__ = [
    "SCORE_BINS",
    "distinct_colors",
    "hep_style",
    "plot_cka_matrix",
    "plot_loss_curves",
    "plot_output_by_process",
    "plot_output_distribution",
    "plot_roc",
    "plot_run",
    "plot_scaling",
    "roc_points",
    "save",
    "score_histogram",
    "unit_area",
]
