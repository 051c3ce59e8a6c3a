"""pytest plugin of ntkcheck (registered through the ``pytest11`` entry point). Placeholder."""
