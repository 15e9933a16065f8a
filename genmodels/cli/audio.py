"""WAV files for the command line (WaveNet): reading a folder of mono recordings into
mu-law levels, with class labels from the file names or from class subfolders, and
writing generated levels back as 16-bit WAV files. Like :mod:`.tables`, no printing;
every problem is an exception naming the file.

>>> waves = load_wavs("recordings/", labels_from_name=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["WAV_SUFFIX", "WavData", "is_wav_source", "load_wavs", "write_wav"]

WAV_SUFFIX = ".wav"


class WavData(NamedTuple):
    """Recordings as :func:`load_wavs` returns them: one float array in [-1, 1] per file
    (sorted by path), their labels (or None), the common sample rate, and the files."""

    waves: list[np.ndarray]
    labels: np.ndarray | None
    sample_rate: int
    files: list[Path]


def _wavs_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == WAV_SUFFIX)


def is_wav_source(source: str | os.PathLike) -> bool:
    """Whether ``source`` is audio: a ``.wav`` file, or a folder holding ``.wav`` files
    (directly, or in class subfolders)."""
    path = Path(source)
    if path.is_file():
        return path.suffix.lower() == WAV_SUFFIX
    if not path.is_dir():
        return False
    return bool(_wavs_in(path)) or any(d.is_dir() and _wavs_in(d) for d in path.iterdir())


def _as_float(data: np.ndarray, path: Path) -> np.ndarray:
    """Samples of a mono WAV as floats in [-1, 1] (integer PCM scaled by its full range)."""
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1:
        raise ValueError(
            f"{path}: has {data.shape[1]} channels; WaveNet models mono audio (mix the file "
            "down to one channel first)"
        )
    if data.size == 0:
        raise ValueError(f"{path}: holds no samples")
    kind = data.dtype.kind
    if kind == "f":
        x = data.astype(np.float64)
        if not np.isfinite(x).all() or np.abs(x).max() > 1.0:
            raise ValueError(f"{path}: floating-point samples must be finite and lie in [-1, 1]")
        return x
    if kind == "u" and data.dtype.itemsize == 1:  # 8-bit WAV is unsigned, centred at 128
        return (data.astype(np.float64) - 128.0) / 128.0
    if kind == "i":
        return np.clip(data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1)), -1, 1)
    raise ValueError(f"{path}: unsupported WAV sample type {data.dtype}")


def load_wavs(source: str | os.PathLike, labels_from_name: bool = False) -> WavData:
    """The recordings of ``source``: one ``.wav`` file, a folder of them, or a folder of
    class subfolders of them (the subfolder names are the labels). ``labels_from_name``:
    each file's label is its name before the first ``_`` (the Free Spoken Digit Dataset's
    ``{digit}_{speaker}_{index}.wav``). All files must share one sample rate (no
    resampling); mono, integer PCM or floats in [-1, 1]."""
    from scipy.io import wavfile

    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no WAV file or folder at {path}")
    if path.is_file():
        files, folders = [path], None
    else:
        files = _wavs_in(path)
        folders = None
        if not files:
            subs = sorted(d for d in path.iterdir() if d.is_dir() and _wavs_in(d))
            if not subs:
                raise ValueError(f"{path}: the folder holds no {WAV_SUFFIX} files")
            pairs = [(f, d.name) for d in subs for f in _wavs_in(d)]
            files, folders = [f for f, _ in pairs], [name for _, name in pairs]
    if folders is not None and labels_from_name:
        raise ValueError(
            f"{path}: holds class subfolders, whose names are the labels; drop "
            "--labels-from-name (or give a flat folder of files)"
        )
    waves, rates = [], {}
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown chunks (LIST, ...) are skipped
            try:
                rate, data = wavfile.read(f)
            except (ValueError, OSError) as exc:
                raise ValueError(f"{f}: not a readable WAV file ({exc})") from None
        rates.setdefault(int(rate), f)
        waves.append(_as_float(np.asarray(data), f))
    if len(rates) > 1:
        (r1, f1), (r2, f2) = list(rates.items())[:2]
        raise ValueError(
            f"the recordings have different sample rates: {f1} at {r1} Hz, {f2} at {r2} Hz "
            "(genmodels does not resample: convert them to one rate first)"
        )
    labels = None
    if folders is not None:
        labels = np.asarray(folders)
    elif labels_from_name:
        names = [f.stem for f in files]
        bad = [f for f, n in zip(files, names, strict=True) if "_" not in n]
        if bad:
            raise ValueError(
                f"{bad[0]}: --labels-from-name takes the label before the first '_' of each "
                "file name (e.g. 7_jackson_0.wav), but this name has no '_'"
            )
        labels = np.asarray([n.split("_", 1)[0] for n in names])
    return WavData(waves, labels, next(iter(rates)), list(files))


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``audio`` (floats in [-1, 1]) as a mono 16-bit PCM WAV file."""
    from scipy.io import wavfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(np.asarray(audio, dtype=np.float64) * 32767.0), -32768, 32767)
    wavfile.write(path, int(sample_rate), pcm.astype(np.int16))
    return path
