"""Using a finished model: scores for every entry of the user's files (:mod:`.predict`), ONNX
export (:mod:`.export`), and publishing a run as a shipped model (:mod:`.publish`, the
maintainers' tool). Import the submodules directly; this package imports nothing."""
