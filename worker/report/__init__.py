"""The weekly report: read from the store, compute (pure), render as Markdown, HTML, CSV."""
