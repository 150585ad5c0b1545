"""Metadata storage on SQLAlchemy Core: a SQLite file by default, PostgreSQL by URL."""
