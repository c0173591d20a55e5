"""What happened to the quotes: the recording file format (recording); the tick store will live here."""
