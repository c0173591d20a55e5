"""``quoteboard relay``: one PUSH socket at the station, shared by many unchanged Kabu clients.

:mod:`.book` counts clients and their symbols (no I/O), :mod:`.fanout` is a socket's latest-wins
queue, :mod:`.app` the Kabu-compatible starlette app around the upstream feed, :mod:`.runner` runs it.
"""
