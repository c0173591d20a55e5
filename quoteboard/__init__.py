"""quoteboard: a live terminal quote board for the Kabu Station API."""

__version__ = "0.1.0"
