"""early_warning services of the complaints app (being written)."""


def register() -> None:
    """Hooks into the customer screen etc.; called from ComplaintsConfig.ready()."""
