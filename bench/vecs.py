"""Reading and writing the .fvecs / .ivecs formats used by the benchmark scripts.

Each record is a little-endian int32 count `d` followed by `d` values (float32 for .fvecs, int32 for .ivecs).
All records of one file must have the same `d`.
"""

import os

import numpy as np


def _read(path, value_dtype):
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        return np.zeros((0, 0), dtype=value_dtype)
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise ValueError(f"{path}: not a vecs file with a constant dimension (first record says d={d})")
    rows = raw.reshape(-1, d + 1)
    if not np.all(rows[:, 0] == d):
        raise ValueError(f"{path}: records have different dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(value_dtype)


def read_fvecs(path):
    return _read(path, "<f4").astype(np.float32, copy=False)


def read_ivecs(path):
    return _read(path, "<i4").astype(np.int32, copy=False)


def _write(path, array, value_dtype):
    array = np.ascontiguousarray(array, dtype=value_dtype)
    n, d = array.shape
    rows = np.empty((n, d + 1), dtype="<i4")
    rows[:, 0] = d
    rows[:, 1:] = array.view("<i4")
    tmp = f"{path}.tmp-{os.getpid()}"
    rows.tofile(tmp)
    os.replace(tmp, path)  # readers never see a half-written file


def write_fvecs(path, array):
    _write(path, array, "<f4")


def write_ivecs(path, array):
    _write(path, array, "<i4")
