"""Private leaves every layer may import: errors, the version, file I/O (atomic writes),
provenance records and locks, and facts about the machine. Nothing here imports the rest of
eventgnn."""
