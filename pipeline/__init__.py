"""cnscd: reproducible yearly reports of Vietnam's community digital technology teams."""

__version__ = "0.1.0"
