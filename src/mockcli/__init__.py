"""mockcli."""
