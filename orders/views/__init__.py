"""Browser pages of the orders app, one module per area of work:
``sales`` (selling from the customer screen, the order page), ``queue`` (back-office),
``pool`` (the number pool and its imports) and ``outbound`` (opportunities and callbacks)."""
