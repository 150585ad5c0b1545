"""Contract suites: the tests every implementation of a pluggable interface passes."""

import pkgutil

import pytest

# The suites live outside the test tree; registering them makes their failed asserts show values like tests do.
pytest.register_assert_rewrite(*(f"{__name__}.{module.name}" for module in pkgutil.iter_modules(__path__)))
