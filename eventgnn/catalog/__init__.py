"""Named things: processes, catalogs and tasks (:mod:`.processes`, from the shipped recipes in
``recipes/``), task files (:mod:`.taskfile`), and the model registry (:mod:`.registry`, the
shipped weights in ``models/``). Import the submodules directly; this package imports nothing."""
