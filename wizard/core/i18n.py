"""Marker for user-facing text written below the Qt layers.

`core` and `services` cannot import Qt, so they mark their plain-words strings with
`tr()`; extraction tools pick the marker up and the UI translates the result through
Qt's translator when translation arrives. Today it returns the text unchanged.
"""


def tr(text: str) -> str:
    return text
