"""Router service: guards, picks domains and plans each query."""
