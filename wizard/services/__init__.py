"""I/O without Qt: files, keyring, network. Imports `core` only."""
