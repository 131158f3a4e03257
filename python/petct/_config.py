"""petct.config: the core's documented resource limits (process-wide).

``max_decoded_bytes`` (64 MiB) and ``decode_ratio`` (200): one compressed unit (a frame of encapsulated
pixel data, a deflated data set) may decode to at most ``max(max_decoded_bytes, decode_ratio x its
compressed bytes)``; beyond that :class:`petct.DecodeLimitError` is raised before anything is allocated.
``max_stream_bytes`` (256 MiB): the most read from a pipe, FIFO or device (``dcmread("/dev/stdin")``).
"""

from __future__ import annotations

from . import _native

_DEFAULTS = (64 << 20, 200, 256 << 20)


class _Config:
    __slots__ = ()

    def _set(self, index: int, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"a petct limit must be a positive int, not {value!r}")
        args = [0, 0, 0]
        args[index] = value
        _native.set_limits(*args)

    @property
    def max_decoded_bytes(self) -> int:
        """Decoded bytes always allowed per frame / deflated data set, whatever the ratio."""
        return _native.get_limits()[0]

    @max_decoded_bytes.setter
    def max_decoded_bytes(self, value: int) -> None:
        self._set(0, value)

    @property
    def decode_ratio(self) -> int:
        """Decoded bytes allowed per compressed byte above ``max_decoded_bytes``."""
        return _native.get_limits()[1]

    @decode_ratio.setter
    def decode_ratio(self, value: int) -> None:
        self._set(1, value)

    @property
    def max_stream_bytes(self) -> int:
        """Most bytes read from a pipe, FIFO or device."""
        return _native.get_limits()[2]

    @max_stream_bytes.setter
    def max_stream_bytes(self, value: int) -> None:
        self._set(2, value)

    def reset(self) -> None:
        """Back to the defaults."""
        _native.set_limits(*_DEFAULTS)

    def __repr__(self) -> str:
        a, b, c = _native.get_limits()
        return f"petct.config(max_decoded_bytes={a}, decode_ratio={b}, max_stream_bytes={c})"


config = _Config()
