"""A deployment of the index: stores, key store, copies and settings (docs/index-design.md 13)."""
