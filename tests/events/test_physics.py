"""Closed-form checks of the kinematic helpers on numpy, awkward and torch inputs."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import torch

from eventgnn.events.physics import delta_phi, delta_r, massless_energy, wrap_phi


def test_delta_phi_across_the_boundary():
    # 3.0 and -3.0 are 2pi - 6 = 0.283 apart across +-pi, not 6 apart
    assert delta_phi(3.0, -3.0) == pytest.approx(6.0 - 2 * math.pi)
    assert delta_phi(-3.0, 3.0) == pytest.approx(2 * math.pi - 6.0)
    assert delta_phi(math.pi - 0.01, -math.pi + 0.01) == pytest.approx(-0.02)
    assert delta_phi(0.5, 0.2) == pytest.approx(0.3)


def test_wrap_phi_range_is_half_open():
    assert wrap_phi(math.pi) == pytest.approx(-math.pi)
    assert wrap_phi(-math.pi) == pytest.approx(-math.pi)
    phi = np.linspace(-20, 20, 4001)
    w = wrap_phi(phi)
    assert np.all(w >= -math.pi) and np.all(w < math.pi)
    # same angle: sin and cos unchanged
    np.testing.assert_allclose(np.sin(w), np.sin(phi), atol=1e-9)
    np.testing.assert_allclose(np.cos(w), np.cos(phi), atol=1e-9)


def test_delta_r_closed_form():
    eta1, phi1, eta2, phi2 = 0.4, 3.0, -1.1, -2.9
    dphi = (3.0 - (-2.9)) - 2 * math.pi
    expected = math.sqrt((0.4 + 1.1) ** 2 + dphi**2)
    assert delta_r(eta1, phi1, eta2, phi2) == pytest.approx(expected)
    assert delta_r(1.0, 0.0, 1.0, 0.0) == 0.0
    # 3-4-5 triangle
    assert delta_r(0.3, 0.0, 0.0, 0.4) == pytest.approx(0.5)


@pytest.mark.parametrize("kind", ["numpy", "awkward", "torch"])
def test_same_answer_on_every_array_library(kind):
    a = [3.0, -3.0, 0.1, 2.0]
    b = [-3.0, 3.0, -0.2, -2.5]
    ref = np.array([delta_phi(x, y) for x, y in zip(a, b, strict=True)])
    conv = {
        "numpy": np.asarray,
        "awkward": lambda v: ak.Array([v[:2], v[2:]]),
        "torch": lambda v: torch.tensor(v, dtype=torch.float64),
    }[kind]
    got = delta_phi(conv(a), conv(b))
    got = ak.flatten(got).to_numpy() if kind == "awkward" else np.asarray(got)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_massless_energy():
    assert massless_energy(50.0, 0.0) == pytest.approx(50.0)
    assert massless_energy(50.0, 2.0) == pytest.approx(50.0 * math.cosh(2.0))
    assert massless_energy(50.0, -2.0) == pytest.approx(massless_energy(50.0, 2.0))


def test_pt_eta_phi_on_numpy_and_awkward_with_beam_momenta():
    from eventgnn.events.physics import BEAM_ETA, pt_eta_phi

    px, py, pz = np.array([3.0, 0.0, 0.0]), np.array([4.0, 0.0, 0.0]), np.array([0.0, 7.0, -2.0])
    pt, eta, phi = pt_eta_phi(px, py, pz)
    assert pt.tolist() == [5.0, 0.0, 0.0]
    assert eta.tolist() == [0.0, BEAM_ETA, -BEAM_ETA]  # along the beam: no inf or NaN
    assert phi[0] == pytest.approx(math.atan2(4, 3))
    jagged = [
        ak.Array([[3.0], [0.0, 1.0]]),
        ak.Array([[4.0], [0.0, 0.0]]),
        ak.Array([[12.0], [-1.0, 0.0]]),
    ]
    pt, eta, phi = pt_eta_phi(*jagged)
    assert pt.tolist() == [[5.0], [0.0, 1.0]]
    assert eta.tolist()[1][0] == -BEAM_ETA
    assert eta.tolist()[0][0] == pytest.approx(math.asinh(12 / 5))
