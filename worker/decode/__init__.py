"""The event contract: field aliases, the record key, the single-record and batch decoders."""
