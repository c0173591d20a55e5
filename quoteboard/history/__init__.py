"""What happened to the quotes: the recording file format (recording), candles (candles), where a
chart's history comes from (source), and the tick store (store: the file and its readers; writer:
the thread that fills it). Candles for other programs: closed from live quotes (closing), as JSON
(wire), and a relay's history read from behind it (remote)."""
