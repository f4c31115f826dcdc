"""Every write of the delivery app, by area: stock, shipments (with carriers and tracking), notices (SMS), money."""
