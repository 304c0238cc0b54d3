"""The knowledge base as data: the entry model, the loader and the schema."""
