"""Browser pages of the delivery app, one module per area of work."""
