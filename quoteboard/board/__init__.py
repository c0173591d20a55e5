"""The board wing: the model (latest quote per symbol), the App (a thin shell), the main screen,
one controller per concern (feed, watchlists, alerts, positions) and the widgets."""
