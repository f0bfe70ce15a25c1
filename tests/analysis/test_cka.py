"""CKA: properties that a wrong implementation fails, and a direct float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eventgnn.analysis.cka import (
    capture_activations,
    collect_outputs,
    ensemble_cka,
    gram_rbf,
    layerwise_cka,
    linear_cka,
    rbf_cka,
)

KERNELS = {"linear": linear_cka, "rbf": rbf_cka}


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 10))
    y = x @ rng.normal(size=(10, 6)) + 0.7 * rng.normal(size=(120, 6))
    return x, y


def _direct_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Biased HSIC with an explicit centering matrix H = I - 11^T/n (float64)."""
    n = k.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ l @ h)) / (n - 1) ** 2


def _direct_unbiased_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al. (2012) unbiased HSIC, written out term by term."""
    n = k.shape[0]
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    t1 = np.trace(k @ l)
    t2 = (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
    t3 = 2 / (n - 2) * (one @ k @ l @ one)
    return float((t1 + t2 - t3) / (n * (n - 3)))


def _direct_cka(k, l, hsic=_direct_hsic):
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def _direct_rbf(x, threshold):
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    # Kornblith et al.'s code: sigma^2 = threshold^2 * median(d^2) (over all n^2 entries)
    return np.exp(-d2 / (2 * threshold**2 * np.median(d2)))


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_self_similarity_is_one(kernel, xy):
    x, _ = xy
    assert KERNELS[kernel](x, x) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_symmetric_and_in_unit_interval(kernel, xy):
    x, y = xy
    a, b = KERNELS[kernel](x, y), KERNELS[kernel](y, x)
    assert a == pytest.approx(b, rel=1e-12)
    assert 0.0 < a < 1.0


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_invariant_to_orthogonal_transform_and_isotropic_scaling(kernel, xy):
    x, y = xy
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    ref = KERNELS[kernel](x, y)
    assert KERNELS[kernel](x @ q, y) == pytest.approx(ref, rel=1e-10)
    assert KERNELS[kernel](3.7 * x, 0.2 * y) == pytest.approx(ref, rel=1e-10)
    # and a translation (centering)
    assert KERNELS[kernel](x + 5.0, y) == pytest.approx(ref, rel=1e-9)


def test_linear_cka_not_invariant_to_general_invertible_map():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 8))
    a = rng.normal(size=(8, 8))
    a[:, 0] *= 20  # strongly anisotropic, still invertible
    assert abs(np.linalg.det(a)) > 1e-3
    assert linear_cka(x, x @ a) < 0.9


def test_closed_form_small_case():
    # one feature each: linear CKA is the squared Pearson correlation; x = (1,2,3), y = x^2 -> 48/49
    x = np.array([1.0, 2.0, 3.0])
    assert linear_cka(x, x**2) == pytest.approx(48 / 49, rel=1e-14)
    # two examples: every centred Gram matrix is proportional to [[1,-1],[-1,1]]
    assert rbf_cka(np.array([[0.0], [1.0]]), np.array([[3.0, 1.0], [-2.0, 4.0]])) == pytest.approx(
        1
    )


def test_matches_direct_formula_with_centering_matrix(xy):
    x, y = xy
    assert linear_cka(x, y) == pytest.approx(_direct_cka(x @ x.T, y @ y.T), rel=1e-10)
    for thr in (0.5, 1.0, 2.0):
        ref = _direct_cka(_direct_rbf(x, thr), _direct_rbf(y, thr))
        assert rbf_cka(x, y, threshold=thr) == pytest.approx(ref, rel=1e-10)
    assert torch.allclose(gram_rbf(x, 0.8), torch.from_numpy(_direct_rbf(x, 0.8)), rtol=1e-10)


def test_debiased_matches_song_formula(xy):
    x, y = xy
    ref = _direct_cka(x @ x.T, y @ y.T, hsic=_direct_unbiased_hsic)
    assert linear_cka(x, y, debiased=True) == pytest.approx(ref, rel=1e-9)
    # the biased estimator is pulled towards 1 for independent data at small n
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 20)), rng.normal(size=(30, 20))
    assert abs(linear_cka(a, b, debiased=True)) < linear_cka(a, b)


def test_large_width_rbf_approaches_linear(xy):
    x, y = xy
    assert rbf_cka(x, y, threshold=200.0) == pytest.approx(linear_cka(x, y), abs=1e-3)


def test_float32_and_torch_inputs_agree(xy):
    x, y = xy
    ref = linear_cka(x, y)
    assert linear_cka(torch.tensor(x, dtype=torch.float32), torch.tensor(y)) == pytest.approx(
        ref, rel=1e-5
    )


def test_mismatched_rows_raise(xy):
    x, y = xy
    with pytest.raises(ValueError, match="same examples"):
        linear_cka(x, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        linear_cka(np.full((4, 2), np.nan), x[:4])


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_ensemble_cka_pairs(kernel):
    rng = np.random.default_rng(4)
    base = rng.normal(size=(80, 6))
    a = [base + s * rng.normal(size=base.shape) for s in (0.3, 0.6)]
    b = [base + s * rng.normal(size=base.shape) for s in (0.2, 1.0, 2.0)]
    f = KERNELS[kernel]
    cross = [f(ai, bj) for ai in a for bj in b]
    mean, std = ensemble_cka(a, b, kernel=kernel)
    assert mean == pytest.approx(np.mean(cross), rel=1e-10)
    assert std == pytest.approx(np.std(cross), rel=1e-8)
    # against itself: self-pairs excluded, so two models give exactly their one pair
    mean, std = ensemble_cka(a, kernel=kernel)
    assert mean == pytest.approx(f(a[0], a[1]), rel=1e-10)
    assert std == 0.0
    assert ensemble_cka(b, b, kernel=kernel)[0] == pytest.approx(
        np.mean([f(b[0], b[1]), f(b[0], b[2]), f(b[1], b[2])]), rel=1e-10
    )


def test_layerwise_matrix():
    rng = np.random.default_rng(5)
    acts = {"node": rng.normal(size=(50, 4)), "graph": rng.normal(size=(10, 3))}
    acts_b = {"graph": acts["graph"] @ np.diag([1.0, 2.0, 3.0]), "node": acts["node"]}
    m = layerwise_cka(acts, acts_b)
    assert m.shape == (2, 2)
    assert m[0, 1] == pytest.approx(1.0)  # node vs node
    assert np.isnan(m[0, 0]) and np.isnan(m[1, 1])  # different numbers of rows
    assert 0 < m[1, 0] < 1
    mr = layerwise_cka(acts, acts, kernel="rbf", max_rows=20)
    assert np.diag(mr) == pytest.approx([1.0, 1.0])


def test_capture_activations_with_shared_block():
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Linear(3, 4)
            self.block = torch.nn.Linear(4, 4)
            self.head = torch.nn.Linear(4, 1)

        def forward(self, x):
            h = self.enc(x)
            for _ in range(2):  # shared weights, iterated
                h = torch.relu(self.block(h))
            return self.head(h)

    net = Net().train()
    batches = [torch.randn(5, 3), torch.randn(7, 3)]
    acts = capture_activations(net, batches, modules=["enc", "block", "head"])
    assert set(acts) == {"enc", "block", "block#1", "head"}
    assert acts["block"].shape == (12, 4)
    x = torch.cat(batches)
    h1 = torch.relu(net.block(net.enc(x)))
    assert torch.allclose(acts["block#1"], net.block(h1))
    assert torch.allclose(acts["head"], collect_outputs(net, batches))
    assert net.training  # restored
    assert not net.block._forward_hooks  # hooks removed
    with pytest.raises(KeyError, match="nope"):
        capture_activations(net, batches, modules=["nope"])
