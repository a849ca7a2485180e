"""pytest plugin of dz (loaded through the ``pytest11`` entry point)."""
