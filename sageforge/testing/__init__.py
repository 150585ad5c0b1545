"""Test support shipped with the package: an in-process server, client factories and contract suites."""
