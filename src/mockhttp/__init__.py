"""mockhttp."""
