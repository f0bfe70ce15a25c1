"""The event record: schema, selection, Parquet I/O and readers of external formats."""
