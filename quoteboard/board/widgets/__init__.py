"""The board's widgets, one per module, each with its messages nested in it."""
