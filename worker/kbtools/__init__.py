"""Tools over the knowledge base: lint, test, ErrorCanon import and export."""
