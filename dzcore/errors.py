"""The exception hierarchy: every dz error derives from :class:`DzError`.

Each concrete error also derives from the built-in type that fits it
(``ValueError``, ``TypeError``, ...), so callers that catch the built-in
type keep working.
"""


class DzError(Exception):
    """Base class of every error raised by dz."""


class ShapeError(DzError, ValueError):
    """Operands whose shapes cannot be combined by an operation."""


class DtypeError(DzError, TypeError):
    """An array of a dtype that an operation cannot take."""


class WeightsError(DzError, ValueError):
    """A weights or checkpoint file that does not fit the model."""


class PluginError(DzError, RuntimeError):
    """A plugin failed to load, register or provide a component."""


class UnknownComponentError(DzError, LookupError):
    """A registry lookup for a name that no loaded plugin provides."""


class AmbiguousNameError(DzError, LookupError):
    """A short component name that two or more plugins register."""


class LabelError(DzError, ValueError):
    """Class labels of the wrong dtype, count or range for a loss or metric."""
