"""Reading a .npy header without reading (or unpickling) the array: point files and
session files both check shape, dtype and length first. numpy only, no torch."""

from __future__ import annotations

import numpy as np


def npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy stream f, left at the start of its data.
    Reads no data and unpickles nothing; ValueError (numpy's reason) on a damaged header or
    an unknown format version. Point files and session files both check it before reading."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        if version not in read_header:
            raise ValueError(f"format version {version[0]}.{version[1]}")
        return read_header[version](f)
    except Exception as exc:  # numpy's header parser has no narrower contract
        raise ValueError(str(exc).strip() or type(exc).__name__) from None
