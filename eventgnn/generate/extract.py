"""From Pythia's particle records to event-record arrays: detector objects plus truth targets."""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..events.schema import make_events
from ..events.truth import last_copy_from_daughters, targets_from_particles
from .detector import DEFAULT_DETECTOR, DetectorConfig, reconstruct


def truth_targets(particles: ak.Array, last_copy: ak.Array | None = None) -> np.ndarray:
    """The ``[n_events, 41]`` multilabel targets from Pythia's record (see events/truth.py)."""
    if last_copy is None:
        last_copy = last_copy_from_daughters(
            particles.pid, particles.daughter1, particles.daughter2
        )
    return targets_from_particles(
        particles.pid, particles.mother, last_copy, particles.pt, particles.eta, particles.phi
    )


def events_from_particles(
    particles: ak.Array,
    *,
    process: str,
    source: str,
    rng: np.random.Generator,
    detector: DetectorConfig = DEFAULT_DETECTOR,
    weight: np.ndarray | None = None,
) -> ak.Array:
    """Event-record rows (label -1) for a batch of Pythia events."""
    last_copy = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    objects = reconstruct(particles, last_copy, rng, detector)
    targets = truth_targets(particles, last_copy)
    return make_events(
        {k: objects[k] for k in ak.fields(objects)},
        process=process,
        weight=weight,
        targets=targets,
        source=source,
    )
