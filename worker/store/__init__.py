"""The store: its schema, connection, retry policy and the API over them."""
