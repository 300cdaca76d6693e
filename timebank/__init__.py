"""timebank: the volunteer time bank and points ledger of urban communities."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("timebank")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
