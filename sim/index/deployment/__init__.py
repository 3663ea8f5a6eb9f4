"""A deployment of the index: its layout, key store, copies and settings (docs/index-design.md)."""
