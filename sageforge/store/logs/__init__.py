"""Log storage: groups, streams and events, behind the ``LogStore`` protocol."""
