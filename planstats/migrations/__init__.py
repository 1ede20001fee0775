"""Alembic migrations of the warehouse; each revision runs the SQL files of one folder."""
