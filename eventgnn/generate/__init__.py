"""Built-in simulation: Pythia 8 + fastjet + a parametric ATLAS-like detector -> event records.

- :mod:`.catalog`: processes, catalogs and tasks from ``data_recipes/``;
- :mod:`.pythia`: Pythia runs (built-in processes and LHE input), records as awkward arrays;
- :mod:`.cp_yukawa`: tree-level t tbar phi amplitudes with a CP-mixed top Yukawa coupling;
  :mod:`.cp_mixing`: the accept-reject that makes such samples from Pythia's SM t tbar H;
- :mod:`.detector`: the detector response; :mod:`.extract`: records -> event-record rows;
- :mod:`.run`: resumable, parallel shard generation (:func:`.run.generate`);
- :mod:`.default`: the default dataset (:func:`.default.ensure_default_data`);
- :mod:`.summary`: cross-section tables and distribution plots of a generated dataset.

Submodules are imported on demand so that ``import eventgnn`` does not load Pythia or fastjet.
"""
