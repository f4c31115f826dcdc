"""notices services of the delivery app (being written)."""


def register() -> None:
    """Hooks into orders and the customer screen; called from DeliveryConfig.ready()."""
