"""Every write of the complaints app, by area: intake (taking and routing), work (department work orders, transitions), callbacks, early_warning."""
