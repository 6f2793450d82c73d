"""Channel adapters: one file per channel behind the interface in base.py."""
