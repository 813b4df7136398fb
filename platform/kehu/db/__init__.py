"""Database access: engines, the tables built from metadata, and schema sync."""
