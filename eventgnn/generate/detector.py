"""A parametric ATLAS-like detector response for generator-level particles.

Works on whole arrays of events (jagged awkward arrays from :func:`.pythia.to_particles`); no
Python loop over events or particles. Every parameter is a field of :class:`DetectorConfig`; the
values and their sources are listed in docs/detector.md.

Steps, per event:

1. Prompt electron, muon and photon candidates: final-state e/mu/gamma not produced in a hadron
   decay (their mother is not a hadron), isolated: the scalar pT sum of the other visible
   final-state particles with pT > 0.5 GeV within Delta R < 0.5 is below a fraction of the
   candidate's pT (Delphes ATLAS card).
2. Efficiency (per type, |eta| dependent) and resolution: electrons and photons with the ATLAS
   ECAL energy resolution, muons with a pT-dependent momentum resolution.
3. Jets: anti-kt R = 0.4 (fastjet) over the visible final-state particles within |eta| < 4.9,
   excluding neutrinos, invisible BSM particles and the reconstructed isolated e/mu/gamma; jet pT
   smeared with the ATLAS jet energy resolution (noise, stochastic and constant terms).
4. b-tagging: a jet is b-labelled if a b quark (last copy, pT > 5 GeV) lies within Delta R < 0.4,
   else c-labelled with a c quark, else light; tagged at random with the efficiency of the ATLAS
   MV2c10 77% working point for its label.
5. MET from the reconstructed objects: minus the vector pT sum of the smeared jets (pT > 15 GeV
   before smearing), the smeared electrons, muons and photons, and the unclustered remainder
   (every other visible particle within |eta| < 4.9), whose components get their own resolution
   proportional to sqrt(its scalar pT sum). Jet mismeasurement therefore reaches MET.

Then :func:`eventgnn.events.selection.build_objects` applies the shared object selection and
overlap removal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import awkward as ak
import numpy as np

from ..events.physics import delta_r, pt_eta_phi
from ..events.selection import SelectionCuts, build_objects


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the detector response (values and sources: docs/detector.md)."""

    acceptance_eta: float = 4.9
    # isolation (Delphes ATLAS card: Isolation modules)
    iso_dr: float = 0.5
    iso_pt_min: float = 0.5
    iso_ratio_electron: float = 0.12
    iso_ratio_muon: float = 0.25
    iso_ratio_photon: float = 0.12
    candidate_pt_min: float = 5.0
    # efficiencies (Delphes ATLAS card): |eta| <= 1.5, then up to the outer edge
    eff_electron: tuple[float, float] = (0.95, 0.85)
    eff_muon: tuple[float, float] = (0.95, 0.85)
    eff_photon: tuple[float, float] = (0.95, 0.85)
    eff_eta_split: float = 1.5
    eff_pt_min: float = 10.0
    # ECAL: sigma_E = sqrt((c E)^2 + s^2 E) (Delphes ATLAS card, |eta| <= 3.2)
    ecal_constant: float = 0.0017
    ecal_stochastic: float = 0.101
    # muon momentum resolution sigma_pT/pT = sqrt(a^2 + (b pT)^2) in |eta| bins (Delphes ATLAS)
    muon_eta_edges: tuple[float, float] = (0.5, 1.5)
    muon_res_a: tuple[float, float, float] = (0.01, 0.015, 0.025)
    muon_res_b: tuple[float, float, float] = (1.0e-4, 1.5e-4, 3.5e-4)
    # jets: anti-kt R = 0.4; sigma_pT/pT = N/pT (+) S/sqrt(pT) (+) C (ATLAS JER, 2015-2017 data)
    jet_r: float = 0.4
    jet_pt_min: float = 15.0
    jer_noise: float = 3.0
    jer_stochastic: float = 0.75
    jer_constant: float = 0.03
    # b-tagging: ATLAS MV2c10 77% working point (b eff 0.77, c rejection 4.9, light 110)
    btag_dr: float = 0.4
    btag_quark_pt_min: float = 5.0
    btag_eff_b: float = 0.77
    btag_eff_c: float = 1.0 / 4.9
    btag_eff_light: float = 1.0 / 110.0
    # MET soft term (visible particles in no jet and no reconstructed e/mu/gamma): resolution
    # per component sigma = k sqrt(scalar pT sum of the soft term)
    met_resolution: float = 0.5


DEFAULT_DETECTOR = DetectorConfig()


def _is_invisible(apid: ak.Array) -> ak.Array:
    # neutrinos and stable BSM particles (the lightest neutralino of the stop sample)
    return (apid == 12) | (apid == 14) | (apid == 16) | (apid >= 1_000_000)


def _is_hadron(apid: ak.Array) -> ak.Array:
    return (apid > 100) & (apid < 1_000_000)


def _gauss_like(rng: np.random.Generator, like: ak.Array) -> ak.Array:
    """Standard normal numbers with the jagged structure of ``like``."""
    counts = ak.num(like, axis=1)
    return ak.unflatten(rng.standard_normal(int(ak.sum(counts))), counts)


def _uniform_like(rng: np.random.Generator, like: ak.Array) -> ak.Array:
    counts = ak.num(like, axis=1)
    return ak.unflatten(rng.random(int(ak.sum(counts))), counts)


def _efficiency(eta: ak.Array, pt: ak.Array, eff: tuple[float, float], cfg: DetectorConfig):
    return ak.where(pt > cfg.eff_pt_min, ak.where(abs(eta) <= cfg.eff_eta_split, *eff), 0.0)


def _isolated(cands: ak.Array, others: ak.Array, ratio: float, cfg: DetectorConfig) -> ak.Array:
    """Relative isolation: the pT sum of ``others`` in the cone (excluding the candidate itself)."""
    pairs = ak.cartesian({"c": cands, "o": others}, axis=1, nested=True)  # [ev, cand, other]
    d = delta_r(pairs.c.eta, pairs.c.phi, pairs.o.eta, pairs.o.phi)
    in_cone = (d < cfg.iso_dr) & (pairs.o.idx != pairs.c.idx)
    cone_pt = ak.sum(ak.where(in_cone, pairs.o.pt, 0.0), axis=2)
    return cone_pt < ratio * cands.pt


def _mask_indices(like: ak.Array, idx: ak.Array) -> ak.Array:
    """Boolean jagged mask shaped like ``like``, True at the per-event local indices ``idx``."""
    counts = ak.to_numpy(ak.num(like, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.zeros(int(counts.sum()), dtype=bool)
    glob = ak.flatten(idx + offsets[:, None] if len(counts) else idx)
    flat[ak.to_numpy(glob).astype(np.int64)] = True
    return ak.unflatten(flat, counts)


def _leptons_photons(final: ak.Array, from_hadron: ak.Array, rng, cfg: DetectorConfig):
    """Reconstructed isolated electrons, muons and photons, and the indices of their particles."""
    apid = abs(final.pid)
    visible = ~_is_invisible(apid) & (abs(final.eta) < cfg.acceptance_eta)
    iso_pool = final[visible & (final.pt > cfg.iso_pt_min)]
    prompt = ~from_hadron & (final.pt > cfg.candidate_pt_min)
    out = {}
    for name, pid, ratio, eff in (
        ("electrons", 11, cfg.iso_ratio_electron, cfg.eff_electron),
        ("muons", 13, cfg.iso_ratio_muon, cfg.eff_muon),
        ("photons", 22, cfg.iso_ratio_photon, cfg.eff_photon),
    ):
        cands = final[prompt & (apid == pid) & (abs(final.eta) < 2.7)]
        cands = cands[_isolated(cands, iso_pool, ratio, cfg)]
        if pid == 13:
            aeta = abs(cands.eta)
            a = ak.where(
                aeta <= cfg.muon_eta_edges[0],
                cfg.muon_res_a[0],
                ak.where(aeta <= cfg.muon_eta_edges[1], cfg.muon_res_a[1], cfg.muon_res_a[2]),
            )
            b = ak.where(
                aeta <= cfg.muon_eta_edges[0],
                cfg.muon_res_b[0],
                ak.where(aeta <= cfg.muon_eta_edges[1], cfg.muon_res_b[1], cfg.muon_res_b[2]),
            )
            rel = np.sqrt(a**2 + (b * cands.pt) ** 2)
        else:
            energy = cands.e
            rel = np.sqrt(cfg.ecal_constant**2 + cfg.ecal_stochastic**2 / energy)
        # the same relative smearing for E and pT at fixed direction
        pt = cands.pt * np.maximum(1.0 + rel * _gauss_like(rng, cands.pt), 0.0)
        keep = _uniform_like(rng, cands.pt) < _efficiency(cands.eta, pt, eff, cfg)
        coll = {
            "pt": pt[keep],
            "eta": cands.eta[keep],
            "phi": cands.phi[keep],
            "idx": cands.idx[keep],
        }
        if pid != 22:
            # e- and mu- have positive PDG ids
            coll["charge"] = ak.values_astype(-np.sign(cands.pid[keep]), np.int8)
        out[name] = ak.zip(coll)
    return out


_BANNER_SHOWN = False


def _swallow_fastjet_banner() -> None:
    """FastJet prints its banner (a dozen lines, on the C++ side's stdout) at the first
    clustering of each process; run that first clustering on a one-particle event with file
    descriptor 1 pointed at /dev/null, so the banner never reaches the user's screen."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    import fastjet

    _BANNER_SHOWN = True
    empty = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)
        fastjet.ClusterSequence(empty, jetdef).inclusive_jets()
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


def _jets(final: ak.Array, exclude: ak.Array, quarks: dict[str, ak.Array], rng, cfg):
    import fastjet

    _swallow_fastjet_banner()
    apid = abs(final.pid)
    use = ~_is_invisible(apid) & (abs(final.eta) < cfg.acceptance_eta) & ~exclude
    inputs = final[use]
    vectors = ak.zip({"px": inputs.px, "py": inputs.py, "pz": inputs.pz, "E": inputs.e})
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, cfg.jet_r)
    cluster = fastjet.ClusterSequence(vectors, jetdef)
    raw = cluster.inclusive_jets(min_pt=cfg.jet_pt_min)
    pt, eta, phi = pt_eta_phi(raw.px, raw.py, raw.pz)
    rel = np.sqrt((cfg.jer_noise / pt) ** 2 + cfg.jer_stochastic**2 / pt + cfg.jer_constant**2)
    pt_smeared = pt * np.maximum(1.0 + rel * _gauss_like(rng, pt), 0.0)
    jets = ak.zip({"pt": pt_smeared, "eta": eta, "phi": phi})

    def near(q):
        pairs = ak.cartesian({"j": jets, "q": q}, axis=1, nested=True)
        d = delta_r(pairs.j.eta, pairs.j.phi, pairs.q.eta, pairs.q.phi)
        return ak.fill_none(ak.any(d < cfg.btag_dr, axis=2), False)

    is_b = near(quarks["b"])
    is_c = near(quarks["c"]) & ~is_b
    eff = ak.where(is_b, cfg.btag_eff_b, ak.where(is_c, cfg.btag_eff_c, cfg.btag_eff_light))
    btag = ak.values_astype(_uniform_like(rng, pt) < eff, np.int8)
    return ak.zip(
        {
            "pt": pt_smeared,
            "eta": eta,
            "phi": phi,
            "btag": btag,
            "flavour": ak.values_astype(ak.where(is_b, 5, ak.where(is_c, 4, 0)), np.int8),
            "raw_px": raw.px,
            "raw_py": raw.py,
        }
    )


def _vector_sum(pt: ak.Array, phi: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per event, the x and y components of the vector sum of objects with ``pt``, ``phi``."""
    return (
        ak.to_numpy(ak.sum(pt * np.cos(phi), axis=1)),
        ak.to_numpy(ak.sum(pt * np.sin(phi), axis=1)),
    )


def _met(final, jets, lp: dict[str, ak.Array], lp_true: ak.Array, rng, cfg) -> ak.Array:
    """MET = -(smeared jets + smeared e, mu, gamma + smeared soft term).

    The soft term is the visible remainder: all visible particles in the acceptance minus the
    jets' particles (each jet is the sum of its constituents) minus the particles of the
    reconstructed e, mu, gamma (``lp_true``: their particles, which were not clustered).
    """
    apid = abs(final.pid)
    vis = final[~_is_invisible(apid) & (abs(final.eta) < cfg.acceptance_eta)]
    hard_x, hard_y = _vector_sum(jets.pt, jets.phi)
    soft_x = ak.to_numpy(ak.sum(vis.px, axis=1) - ak.sum(jets.raw_px, axis=1))
    soft_y = ak.to_numpy(ak.sum(vis.py, axis=1) - ak.sum(jets.raw_py, axis=1))
    soft_sum_pt = ak.sum(vis.pt, axis=1) - ak.sum(np.hypot(jets.raw_px, jets.raw_py), axis=1)
    for coll in lp.values():
        x, y = _vector_sum(coll.pt, coll.phi)
        hard_x, hard_y = hard_x + x, hard_y + y
    soft_x = soft_x - ak.to_numpy(ak.sum(lp_true.px, axis=1))
    soft_y = soft_y - ak.to_numpy(ak.sum(lp_true.py, axis=1))
    soft_sum_pt = soft_sum_pt - ak.sum(lp_true.pt, axis=1)
    sigma = cfg.met_resolution * np.sqrt(np.maximum(ak.to_numpy(soft_sum_pt), 0.0))
    soft_x = soft_x + sigma * rng.standard_normal(len(soft_x))
    soft_y = soft_y + sigma * rng.standard_normal(len(soft_y))
    mpx, mpy = -(hard_x + soft_x), -(hard_y + soft_y)
    return ak.zip({"pt": np.hypot(mpx, mpy), "phi": np.arctan2(mpy, mpx)})


def reconstruct(
    particles: ak.Array,
    last_copy: ak.Array,
    rng: np.random.Generator,
    config: DetectorConfig = DEFAULT_DETECTOR,
    cuts: SelectionCuts | None = None,
) -> ak.Array:
    """Detector-level objects of the event record from Pythia's particles (many events at once).

    ``particles`` comes from :func:`.pythia.to_particles`; ``last_copy`` from
    :func:`eventgnn.events.truth.last_copy_from_daughters`. ``rng`` draws every smearing and
    efficiency: the same generator state gives the same objects. Returns the jagged ``objects``
    of the event record (after the shared selection and overlap removal).
    """
    objects, _ = reconstruct_collections(particles, last_copy, rng, config)
    return build_objects(**objects, **({"cuts": cuts} if cuts is not None else {}))


def reconstruct_collections(
    particles: ak.Array,
    last_copy: ak.Array,
    rng: np.random.Generator,
    config: DetectorConfig = DEFAULT_DETECTOR,
) -> tuple[dict[str, ak.Array], dict[str, ak.Array]]:
    """The reconstructed collections before the shared selection, and the truth quarks used.

    Returns ``({"jets", "electrons", "muons", "photons", "met"}, {"b", "c"})``; jets carry the
    truth ``flavour`` (5, 4, 0) used for b-tagging.
    """
    cfg = config
    parts = ak.with_field(particles, ak.local_index(particles.pid, axis=1), "idx")
    apid = abs(parts.pid)
    has_mother = parts.mother >= 0
    mother_pid = ak.where(has_mother, apid[ak.where(has_mother, parts.mother, 0)], 0)
    from_hadron = has_mother & _is_hadron(mother_pid)
    final_mask = parts.status > 0
    final = parts[final_mask]
    lp = _leptons_photons(final, from_hadron[final_mask], rng, cfg)
    selected_idx = ak.concatenate([lp["electrons"].idx, lp["muons"].idx, lp["photons"].idx], axis=1)
    selected = _mask_indices(parts.pid, selected_idx)
    exclude = selected[final_mask]
    quark_ok = last_copy & (parts.pt > cfg.btag_quark_pt_min) & (abs(parts.eta) < 10)
    quarks = {
        "b": parts[quark_ok & (apid == 5)][["eta", "phi"]],
        "c": parts[quark_ok & (apid == 4)][["eta", "phi"]],
    }
    jets = _jets(final, exclude, quarks, rng, cfg)
    met = _met(final, jets, lp, parts[selected], rng, cfg)
    strip = ["pt", "eta", "phi"]
    return (
        {
            "jets": jets[[*strip, "btag", "flavour"]],
            "electrons": lp["electrons"][[*strip, "charge"]],
            "muons": lp["muons"][[*strip, "charge"]],
            "photons": lp["photons"][strip],
            "met": met,
        },
        quarks,
    )
