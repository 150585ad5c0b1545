pytest_plugins = ["sageforge.testing.fixtures"]
