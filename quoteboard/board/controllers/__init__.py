"""The board's controllers, one concern each: the feed, the watchlists, the alerts, the positions.

A controller holds the parts it works with (the board model, the widgets it drives, the Textual app
as a place to run workers and show notifications), never the board's App class: the App makes them
and the main screen hands them what the widgets post.
"""
