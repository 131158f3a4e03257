"""``progress=`` of scan, load_study and batch: True -> tqdm (tqdm.auto, so a widget in Jupyter) when it
is installed, a callable -> called with ``(done, total)`` counts, None / False -> nothing."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("petct")


class Reporter:
    def __init__(self, progress: Any, total: int, desc: str):
        self.total = int(total)
        self.done = 0
        self._bar: Any = None
        self._call: Any = None
        self._tqdm: Any = None
        self._desc = desc
        if progress is True:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                log.debug("progress=True but tqdm is not installed: no progress bar")
            else:
                self._tqdm = tqdm
        elif callable(progress):
            self._call = progress
        elif progress not in (None, False):
            raise TypeError("progress must be True, False, None or a callable receiving (done, total)")

    @property
    def wants_counts(self) -> bool:
        return self._tqdm is not None or self._call is not None

    def grow(self, extra: int) -> None:
        """More work became known (e.g. the slices to load, once the scan has found the series)."""
        self.total += int(extra)
        if self._bar is None and self._tqdm is not None and self.total > 0:
            self._bar = self._tqdm(total=self.total, desc=self._desc)
        elif self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def update(self, n: int = 1) -> None:
        self.done += int(n)
        if self._bar is not None:
            self._bar.update(n)
        if self._call is not None:
            self._call(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
