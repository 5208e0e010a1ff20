"""A simulated Microsoft 365 tenant on loopback. Imports `core` at most, never `services`."""
