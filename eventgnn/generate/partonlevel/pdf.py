"""Parton densities and the strong coupling from Pythia's built-in set, vectorised.

Pythia 8.317's default proton PDF (``PDF:pSet = 13``) is NNPDF2.3 QCD+QED LO with
``alpha_s(m_Z) = 0.130``, shipped inside Pythia as an LHAGrid1 file, so nothing is downloaded.
Pythia answers one point per call (about 1 us from Python, measured); a process needs ~10
flavours x 2 beams x 1e5 points per integration pass, so :class:`PartonDensities` tabulates
``x f(x, Q^2)`` once on a grid in ``(log x, log Q^2)`` and interpolates with cubic
(Catmull-Rom) polynomials in both variables. The strong coupling is Pythia's hard-process one
(``SigmaProcess:alphaSvalue = 0.130``, first-order running, ``SigmaProcess:alphaSorder = 1``),
evaluated per point (it is cheap and one-dimensional).
"""

from __future__ import annotations

import numpy as np

#: PDG ids of the tabulated partons: gluon, d u s c b and their antiquarks.
PARTONS = (21, 1, 2, 3, 4, 5, -1, -2, -3, -4, -5)


#: Largest tabulated momentum fraction; above it ``x f`` is set to zero (below 1e-6 of its peak).
X_MAX = 0.98


def _logit(x):
    return np.log(x) - np.log1p(-x)


def _pythia():
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in ("Print:quiet = on", "Beams:eCM = 13000.", "SoftQCD:elastic = on"):
        pythia.readString(line)
    if not pythia.init():
        raise RuntimeError("pythia8mc could not initialise the proton PDF")
    return pythia, pythia8mc


def _catmull_rom(t):
    """The four Catmull-Rom weights for a point at fraction ``t`` between nodes 1 and 2."""
    t2, t3 = t * t, t * t * t
    return np.stack(
        [
            -0.5 * t3 + t2 - 0.5 * t,
            1.5 * t3 - 2.5 * t2 + 1,
            -1.5 * t3 + 2 * t2 + 0.5 * t,
            0.5 * t3 - 0.5 * t2,
        ]
    )  # [4, N]


class PartonDensities:
    """``x f(x, Q^2)`` for the partons in :data:`PARTONS`, from Pythia's default proton PDF.

    Args:
        x_min: smallest momentum fraction tabulated (the process's ``m_min^2 / s``).
        q2_range: ``(Q^2_min, Q^2_max)`` in GeV^2 tabulated.
        n_x, n_q2: grid points (uniform in ``log x``, resp. ``log Q^2``).

    ``direct(pid, x, q2)`` asks Pythia point by point (the reference for the grid).
    """

    def __init__(self, x_min=1e-4, q2_range=(1e2, 1e8), n_x=160, n_q2=36):
        if not 0 < x_min < 1 or not 0 < q2_range[0] < q2_range[1]:
            raise ValueError(f"PDF grid out of range: x_min={x_min}, q2_range={q2_range}")
        self._pythia, pythia8mc = _pythia()
        self.pdf = self._pythia.getPDFPtr(2212, 1, "A", True)
        self.alpha_s_mz = self._pythia.settings.parm("SigmaProcess:alphaSvalue")
        self._alpha = pythia8mc.AlphaStrong()
        self._alpha.init(self.alpha_s_mz, 1, 6, False)  # Pythia's SigmaProcess defaults
        self.x_min, self.q2_range = x_min, q2_range
        # nodes uniform in log(x / (1 - x)): logarithmic at small x, dense where the
        # densities fall steeply towards x = 1; above X_MAX the densities are taken as zero
        self._lx = np.linspace(_logit(x_min), _logit(X_MAX), n_x)
        self._lq = np.linspace(*np.log(q2_range), n_q2)
        xs, q2s = 1 / (1 + np.exp(-self._lx)), np.exp(self._lq)
        self._grid = {
            pid: np.array([[self.pdf.xf(pid, x, q2) for q2 in q2s] for x in xs]) for pid in PARTONS
        }  # [n_x, n_q2]

    def direct(self, pid: int, x, q2) -> np.ndarray:
        """Pythia's own ``x f(x, Q^2)``, one C++ call per point."""
        x, q2 = np.broadcast_arrays(np.asarray(x, float), np.asarray(q2, float))
        return np.array(
            [self.pdf.xf(pid, a, b) for a, b in zip(x.ravel(), q2.ravel(), strict=True)]
        ).reshape(x.shape)

    def alpha_s(self, q2) -> np.ndarray:
        """Pythia's hard-process ``alpha_s(Q^2)`` (first-order running, 0.130 at m_Z)."""
        q2 = np.asarray(q2, float)
        flat = np.array([self._alpha.alphaS(v) for v in np.unique(q2)])
        return flat[np.searchsorted(np.unique(q2), q2)]

    def _stencil(self, nodes, value):
        step = nodes[1] - nodes[0]
        pos = (value - nodes[0]) / step
        i = np.clip(np.floor(pos).astype(int), 0, len(nodes) - 2)
        t = pos - i
        idx = np.clip(i[None, :] + np.arange(-1, 3)[:, None], 0, len(nodes) - 1)  # [4, N]
        # at the ends the clipped stencil repeats a node; fall back to linear weights there
        w = _catmull_rom(t)
        edge = (i == 0) | (i >= len(nodes) - 2)
        w[:, edge] = np.stack([0 * t, 1 - t, t, 0 * t])[:, edge]
        return idx, w

    def xf(self, pid: int, x, q2) -> np.ndarray:
        """Interpolated ``x f(x, Q^2)``: ``x``, ``q2`` broadcastable arrays inside the grid."""
        x, q2 = np.broadcast_arrays(np.asarray(x, float), np.asarray(q2, float))
        lx, lq = _logit(np.minimum(x.ravel(), X_MAX)), np.log(q2.ravel())
        if lx.size and (
            lx.min() < self._lx[0] - 1e-12
            or lq.min() < self._lq[0] - 1e-9
            or lq.max() > self._lq[-1] + 1e-9
        ):
            raise ValueError("x or Q^2 outside the tabulated PDF grid")
        ix, wx = self._stencil(self._lx, lx)
        iq, wq = self._stencil(self._lq, lq)
        grid = self._grid[pid]
        value = np.einsum("an,bn,abn->n", wx, wq, grid[ix[:, None, :], iq[None, :, :]])
        return np.where(x.ravel() > X_MAX, 0.0, value).reshape(x.shape)
