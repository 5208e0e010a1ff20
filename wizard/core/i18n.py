"""Marker for user-facing text written below the Qt layers.

`core` and `services` cannot import Qt, so they mark their plain-words strings with
`tr()`; extraction tools pick the marker up and the UI translates the result through
Qt's translator when translation arrives. Today it returns the text unchanged.
"""


def tr(text: str) -> str:
    return text


def ntr(one: str, many: str, n: int) -> str:
    """A count in words: `one` for 1, `many` otherwise, "%n" replaced by the count.

    The UI's `plural()` asks Qt's numerus translation first; below Qt this is the
    English rule, and the pair marks the text for extraction.
    """
    return (one if n == 1 else many).replace("%n", str(n))
