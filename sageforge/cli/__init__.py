"""Command-line front-end."""
