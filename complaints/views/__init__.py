"""Browser pages of the complaints app, one module per area of work."""
