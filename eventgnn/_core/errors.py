"""The package's exceptions and warnings, in one leaf module that every layer may import.

Each error is a ``ValueError`` or ``RuntimeError`` whose message is written for the user: it names
the file, field, key or name at fault and says what was expected. ``eventgnn``'s command line
prints that message as one line.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input file cannot be read as asked; the message names the file and the problem."""


class SchemaError(ValueError):
    """An event-record field is missing or has the wrong type."""

    def __init__(self, where: str, field: str, problem: str):
        self.where, self.field, self.problem = where, field, problem
        super().__init__(f"{where}: field '{field}': {problem}")


class ConfigError(ValueError):
    """A config file or override names an unknown key or gives a value of the wrong type."""


class CatalogError(ValueError):
    """A process, catalog or task is unknown or its recipe file is malformed."""


class RegistryError(ValueError):
    """A shipped model is unknown, its card is malformed, or its name is not allowed."""


class ModelCheckError(RegistryError):
    """A shipped model's accuracy on regenerated events disagrees with its card
    (:func:`eventgnn.deploy.publish.check_model`)."""


class ChecksumError(RegistryError):
    """A shipped model's file differs from its card's SHA-256 (the message names the file, the
    expected and the found checksum)."""


class DatasetError(ValueError):
    """The data does not hold what a task needs (for example a missing process)."""


class GeneratorError(RuntimeError):
    """Pythia failed to initialise or to produce events."""


class EmptyEventsWarning(UserWarning):
    """Events without any selected object were excluded (counted in the message)."""


class StaleOutputError(RuntimeError):
    """An existing output was made from other inputs or options than this run's; the message
    names what differs and how to go on."""


class LockedError(RuntimeError):
    """Another job holds the output folder (the message names its PID and host)."""


class ClassImbalanceWarning(UserWarning):
    """The training classes' total weights differ by more than a set ratio (the message names
    the classes and suggests ``train.balance=true``)."""
