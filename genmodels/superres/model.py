"""``SuperResolution``: an SRResNet trained with a pixel loss, and ``upscale`` on any size.

Not a density model (it neither samples nor scores), so it is not in the registry and the
contract suite does not run over it; it keeps scikit-learn's conventions all the same
(hyper-parameters stored untouched, fitted attributes ending in ``_``, ``fit`` returns
``self``) and trains on the shared :class:`~genmodels.nn.trainer.Trainer` through
:class:`_PatchTask`.

Training pairs: each training image (uint8 or float in [0, 1], RGB or grey) is cropped to
a multiple of the scale and shrunk once with MATLAB's antialiased bicubic (rounded to 8
bits, as the evaluation protocol's inputs are); every step then draws ``batch_size``
aligned patches (``patch_size`` low-resolution pixels, ``scale * patch_size``
high-resolution ones) from the step generator the Trainer hands it: the image with
probability proportional to its number of patch positions, the position uniformly, and
one of the 8 flips/90-degree rotations. Bicubic shrinking commutes with those, so an
augmented pair is still an exact (LR, HR) pair. The same ``random_state`` gives the same
weights.

Model files are safetensors (the module's weights) with JSON metadata (format
``"genmodels-superres"``, the hyper-parameters, the history); never a pickle.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch.utils.data import TensorDataset

from .._version import __version__
from ..backend import cpu_threads, resolve_device, threads_for
from ..exceptions import ModelFileError, NotFittedError
from ..nn.trainer import StepContext, Trainer
from ..persistence import (
    from_json_value,
    instance_from_params,
    read_own_format,
    safetensors_header,
    to_json_value,
)
from ..validation import BOOL, DEVICE, NONE, SEED, Interval, OneOf, Satisfies, validate_params
from ._network import SRResNet
from ._resize import imresize

FORMAT = "genmodels-superres"
FORMAT_VERSION = 1
MIN_SIZE = 2  # the smallest low-resolution side upscale accepts

_RUN_ONLY = {"epochs", "verbose", "device", "checkpoint_dir", "tile_size"}


class SuperResolution(BaseEstimator):
    """Single-image super-resolution by an SRResNet (Ledig et al. 2017; EDSR's blocks
    without batch norm) that learns the residual over a bicubic upscaling.

    The defaults are the recipe of ``examples/superres_set5.py`` (Set5 x4: 31.14 dB against
    bicubic's 28.43 after 30 minutes on one CPU thread; docs/results.md).

    Parameters
    ----------
    scale : 2 or 4
        The upscaling factor.
    n_blocks, channels : int
        Residual blocks and their feature channels (SRResNet: 16 x 64).
    res_scale : float
        Each block's residual is multiplied by it (EDSR uses 0.1 for wide networks).
    loss : "l1" or "mse"
        The pixel loss (L1 trains to higher PSNR in EDSR's experience; MSE is SRResNet's).
    patch_size : int
        Low-resolution side of a training patch (the high-resolution one is
        ``scale * patch_size``); training images smaller than that are skipped.
    batch_size, epochs, steps_per_epoch : int
        Patches per step; training runs ``epochs * steps_per_epoch`` steps.
    lr, lr_schedule, warmup_steps : Adam's learning rate and its schedule over the steps.
    tile_size : int
        ``upscale`` cuts low-resolution images with a side larger than this into tiles of
        this many pixels (plus an overlap of :meth:`halo` pixels, so tiled = untiled).
    device : "cpu", "cuda", "cuda:N" or "auto"
    checkpoint_dir : str or None
        Checkpoint every epoch there; ``fit(..., resume=True)`` carries on from it.
    random_state : int or RandomState
    verbose : int
        A progress bar when > 0.

    Attributes
    ----------
    module_ : SRResNet
        The trained network (torch module, on ``device``).
    history_ : dict[str, list[float]]
        Per epoch: ``loss`` (the mean pixel loss over its steps), ``lr``, ``epoch_time``.
    n_images_ : int
        Training images used (those at least ``scale * patch_size`` pixels on each side).
    """

    _param_spec = {
        "scale": [OneOf((2, 4))],
        "n_blocks": [Interval(int, 0, None)],
        "channels": [Interval(int, 1, None)],
        "res_scale": [Interval(float, 0, None, closed="neither")],
        "loss": [OneOf(("l1", "mse"))],
        "patch_size": [Interval(int, 4, None)],
        "batch_size": [Interval(int, 1, None)],
        "epochs": [Interval(int, 1, None)],
        "steps_per_epoch": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "lr_schedule": [OneOf(("constant", "cosine", "linear"))],
        "warmup_steps": [Interval(int, 0, None)],
        "tile_size": [Interval(int, 8, None)],
        "device": [DEVICE],
        "checkpoint_dir": [NONE, Satisfies(lambda v: isinstance(v, str | os.PathLike), "a path")],
        "random_state": [SEED],
        "verbose": [Interval(int, 0, None), BOOL],
    }

    def __init__(
        self,
        scale: Literal[2, 4] = 4,
        n_blocks: int = 8,
        channels: int = 32,
        res_scale: float = 1.0,
        loss: Literal["l1", "mse"] = "l1",
        patch_size: int = 24,
        batch_size: int = 16,
        epochs: int = 20,
        steps_per_epoch: int = 200,
        lr: float = 1e-3,
        lr_schedule: Literal["constant", "cosine", "linear"] = "cosine",
        warmup_steps: int = 0,
        tile_size: int = 128,
        device: str = "cpu",
        checkpoint_dir: str | os.PathLike | None = None,
        random_state: int | np.random.RandomState = 0,
        verbose: int = 0,
    ):
        self.scale = scale
        self.n_blocks = n_blocks
        self.channels = channels
        self.res_scale = res_scale
        self.loss = loss
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.tile_size = tile_size
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose

    # -- training --------------------------------------------------------------------------

    def fit(self, images, *, resume: bool = False) -> SuperResolution:
        """Train on high-resolution ``images``: one (H, W) / (H, W, 3) array, a batch
        (N, H, W, 3), or a list of arrays of any sizes (uint8, or float in [0, 1])."""
        validate_params(self, self._param_spec)
        hr_images = [_to_float_rgb(im, "fit") for im in _as_list(images, "fit")]
        device = resolve_device(self.device)
        seed = _seed(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the initial weights, without touching the caller's RNG
            module = self._build_module()
        task = _PatchTask(module.to(device), self, hr_images, device)
        trainer = Trainer(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=float(self.lr),
            lr_schedule=self.lr_schedule,
            warmup_steps=self.warmup_steps,
            device=device,
            mixed_precision="float32",
            checkpoint_dir=self.checkpoint_dir,
            seed=seed,
            verbose=int(self.verbose),
            desc=f"SRResNet x{self.scale}",
            drop_last=True,
            owner=_owner(self),
        )
        rows = TensorDataset(torch.zeros(self.steps_per_epoch * self.batch_size))
        # feature values one step computes: one thread for tiny networks or a busy machine
        work = self.batch_size * self.channels * (self.scale * self.patch_size) ** 2
        with cpu_threads(threads_for(work)):
            result = trainer.fit(task, rows, resume=resume)
        self.module_ = task.module.eval()
        self.history_ = result.history
        self.n_images_ = task.n_images
        return self

    def _build_module(self) -> SRResNet:
        return SRResNet(self.scale, self.n_blocks, self.channels, float(self.res_scale))

    def halo(self) -> int:
        """Low-resolution pixels of overlap that make tiled upscaling exact."""
        return SRResNet.halo(self.scale, self.n_blocks)

    # -- inference -------------------------------------------------------------------------

    def upscale(self, images):
        """``images`` upscaled ``scale`` times: (H, W) grey, (H, W, 3) RGB, a batch
        (N, H, W) or (N, H, W, 3), or a list of those; uint8 in gives uint8 out (rounded),
        float in [0, 1] gives float32 out (clipped to [0, 1]). Grey images are upscaled as
        R = G = B and averaged back. Images larger than ``tile_size`` are processed in
        overlapping tiles, which gives the same pixels as processing them whole."""
        self._check_fitted()
        if isinstance(images, list | tuple):
            return [self.upscale(np.asarray(im)) for im in images]
        arr = _check_image_array(np.asarray(images), "upscale")
        grey = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] != 3)
        batch = arr.ndim == 4 or (arr.ndim == 3 and arr.shape[-1] != 3)
        stack = arr if batch else arr[None]  # (N, H, W[, 3])
        work = self.channels * stack[0].shape[0] * stack[0].shape[1] * self.scale**2
        with cpu_threads(threads_for(work)):
            out = np.stack([self._upscale_one(_to_float_rgb(im, "upscale")) for im in stack])
        if grey:
            out = out.mean(axis=-1)
        out = out if batch else out[0]
        if arr.dtype == np.uint8:
            return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    def _upscale_one(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) float in [0, 1] -> (s h, s w, 3) float32, in tiles."""
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIZE:
            raise ValueError(
                f"upscale needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, got {h}x{w}"
            )
        device = next(self.module_.parameters()).device
        x = torch.as_tensor(rgb, dtype=torch.float32, device=device).permute(2, 0, 1)[None]
        s, t, halo = self.scale, self.tile_size, self.halo()
        out = torch.empty(1, 3, s * h, s * w, device=device)
        with torch.no_grad():
            for y0 in range(0, h, t):
                for x0 in range(0, w, t):
                    y1, x1 = min(h, y0 + t), min(w, x0 + t)
                    ya, xa = max(0, y0 - halo), max(0, x0 - halo)
                    yb, xb = min(h, y1 + halo), min(w, x1 + halo)
                    tile = self.module_(x[..., ya:yb, xa:xb])  # (1, 3, s(yb-ya), s(xb-xa))
                    oy, ox = s * (y0 - ya), s * (x0 - xa)
                    out[..., s * y0 : s * y1, s * x0 : s * x1] = tile[
                        ..., oy : oy + s * (y1 - y0), ox : ox + s * (x1 - x0)
                    ]
        return out[0].permute(1, 2, 0).cpu().numpy()

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                "This SuperResolution instance is not fitted yet. Call 'fit' with training "
                "images, or load a saved model, before upscaling."
            )

    # -- files -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (safetensors + JSON metadata, atomically)."""
        self._check_fitted()
        from safetensors.torch import save as st_save

        params = {k: to_json_value(v) for k, v in self._json_params().items()}
        metadata = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "library_version": __version__,
            "class": type(self).__name__,
            "params": json.dumps(params),
            "attributes": json.dumps(
                {"history_": to_json_value(self.history_), "n_images_": self.n_images_}
            ),
        }
        tensors = {
            f"module/{k}": v.detach().cpu().contiguous()
            for k, v in self.module_.state_dict().items()
        }
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(st_save(tensors, metadata=metadata))
        os.replace(tmp, path)

    def _json_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], int):
            params["random_state"] = None  # a generator's state is not worth persisting
        if params["checkpoint_dir"] is not None:
            params["checkpoint_dir"] = str(params["checkpoint_dir"])
        return params

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> SuperResolution:
        """A model saved with :meth:`save` (checked before any tensor is read; never
        unpickles). ``device`` overrides the saved one. A file that is not one is a
        :class:`~genmodels.exceptions.ModelFileError` saying why."""
        from safetensors.torch import load as st_load

        path = Path(path)
        data, meta = read_own_format(
            path, FORMAT, FORMAT_VERSION, "super-resolution model file", "SuperResolution.save"
        )
        try:
            params = {k: from_json_value(v) for k, v in json.loads(meta["params"]).items()}
            attrs = json.loads(meta["attributes"])
            tensors = st_load(data)
        except Exception as exc:
            raise ModelFileError(f"{path}: corrupt super-resolution model file ({exc})") from None
        if device is not None:
            params["device"] = device
        model = instance_from_params(cls, params, path)
        module = model._build_module()
        state = {k.removeprefix("module/"): v for k, v in tensors.items()}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelFileError(f"{path}: weights do not fit the saved network: {first}") from None
        for name, value in state.items():
            if not torch.isfinite(value).all():
                raise ModelFileError(f"{path}: weight {name} holds NaN or infinite values")
        model.module_ = module.to(resolve_device(model.device)).eval()
        model.history_ = from_json_value(attrs.get("history_", {"__dict__": {}}))
        model.n_images_ = int(attrs.get("n_images_", 0))
        return model


def is_superres_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a safetensors file whose metadata says it is a
    :class:`SuperResolution` model file (its header only; nothing else is checked)."""
    path = Path(path)
    try:
        data = path.read_bytes()
        meta = safetensors_header(data, path).get("__metadata__") or {}
    except (OSError, ModelFileError):
        return False
    return meta.get("format") == FORMAT


# -- the training task -------------------------------------------------------------------


class _PatchTask:
    """The Trainer's task: random aligned (LR, HR) patches drawn with the step generator,
    the pixel loss between the network's output and the HR patch."""

    def __init__(self, module: SRResNet, model: SuperResolution, images, device):
        self.module = module
        s, p = model.scale, model.patch_size
        self.scale, self.patch, self.loss = s, p, model.loss
        self.hr, self.lr = [], []
        for rgb in images:
            rgb = rgb[: rgb.shape[0] - rgb.shape[0] % s, : rgb.shape[1] - rgb.shape[1] % s]
            if min(rgb.shape[:2]) < s * p:
                continue
            lr = np.round(np.clip(imresize(rgb, 1.0 / s), 0, 1) * 255.0) / 255.0
            self.hr.append(torch.as_tensor(rgb, dtype=torch.float32).permute(2, 0, 1).to(device))
            self.lr.append(torch.as_tensor(lr, dtype=torch.float32).permute(2, 0, 1).to(device))
        self.n_images = len(self.hr)
        skipped = len(images) - self.n_images
        if not self.hr:
            raise ValueError(
                f"no training image is at least {s * p}x{s * p} pixels (scale {s} x "
                f"patch_size {p}); use larger images or a smaller patch_size"
            )
        if skipped:
            warnings.warn(
                f"{skipped} training image(s) smaller than {s * p}x{s * p} pixels skipped",
                stacklevel=3,
            )
        # patch positions per image: the chance of drawing it
        self.weights = torch.tensor(
            [float((t.shape[1] - p + 1) * (t.shape[2] - p + 1)) for t in self.lr], device=device
        )

    def training_module(self):
        return self.module

    def parameter_groups(self):
        return {"model": list(self.module.parameters())}

    def group_steps(self):
        return {"model": 1}

    def draw(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` augmented pairs: (n, 3, p, p) LR and (n, 3, s p, s p) HR."""
        s, p, dev = self.scale, self.patch, gen.device
        which = torch.multinomial(self.weights, n, replacement=True, generator=gen).tolist()
        u = torch.rand(n, 2, generator=gen, device=dev).tolist()
        flips = torch.randint(0, 8, (n,), generator=gen, device=dev).tolist()
        lrs, hrs = [], []
        for i, (fy, fx), f in zip(which, u, flips, strict=True):
            lr, hr = self.lr[i], self.hr[i]
            y = min(int(fy * (lr.shape[1] - p + 1)), lr.shape[1] - p)
            x = min(int(fx * (lr.shape[2] - p + 1)), lr.shape[2] - p)
            a = _dihedral(lr[:, y : y + p, x : x + p], f)
            b = _dihedral(hr[:, s * y : s * (y + p), s * x : s * (x + p)], f)
            lrs.append(a)
            hrs.append(b)
        return torch.stack(lrs), torch.stack(hrs)

    def _loss(self, out, hr):
        return F.l1_loss(out, hr) if self.loss == "l1" else F.mse_loss(out, hr)

    def training_step(self, batch, ctx: StepContext) -> dict:
        lr, hr = self.draw(len(batch[0]), ctx.generator)
        return {"loss": self._loss(self.module(lr), hr)}

    def validation_step(self, batch, ctx: StepContext) -> dict:
        lr, hr = batch  # fixed (LR, HR) pairs
        return {"loss": self._loss(self.module(lr), hr)}


def _dihedral(t: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips / 90-degree rotations of a (C, H, W) patch."""
    if k & 4:
        t = t.transpose(1, 2)
    if k & 2:
        t = t.flip(1)
    if k & 1:
        t = t.flip(2)
    return t


# -- input checks ------------------------------------------------------------------------


def _seed(random_state) -> int:
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    return int(random_state.randint(0, 2**31 - 1))


def _owner(model: SuperResolution) -> dict[str, Any]:
    params = {k: to_json_value(v) for k, v in model._json_params().items() if k not in _RUN_ONLY}
    return {"class": type(model).__name__, "params": json.loads(json.dumps(params))}


def _as_list(images, what: str) -> list[np.ndarray]:
    if isinstance(images, list | tuple):
        if not images:
            raise ValueError(f"{what}: no images given")
        out = []
        for im in images:
            arr = _check_image_array(np.asarray(im), what)
            if arr.ndim == 4 or (arr.ndim == 3 and arr.shape[-1] != 3):
                out.extend(arr)
            else:
                out.append(arr)
        return out
    arr = _check_image_array(np.asarray(images), what)
    if arr.ndim == 4 or (arr.ndim == 3 and arr.shape[-1] != 3):
        return list(arr)
    return [arr]


def _check_image_array(arr: np.ndarray, what: str) -> np.ndarray:
    """The array if it is an image or a batch of images, else a ValueError saying why."""
    if arr.dtype == object or arr.dtype.kind not in "uif" and arr.dtype != bool:
        raise ValueError(f"{what}: images must be uint8 or float arrays, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ValueError(
            f"{what}: expected an image (H, W) or (H, W, 3), or a batch (N, H, W) or "
            f"(N, H, W, 3); got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{what}: empty image array of shape {arr.shape}")
    if arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        raise ValueError(
            f"{what}: integer images must be uint8 (0-255), got {arr.dtype}; convert "
            "others to float in [0, 1]"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: images contain NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(
                f"{what}: float images must lie in [0, 1], got values in [{lo:g}, {hi:g}] "
                "(divide 0-255 images by 255, or pass uint8)"
            )
    return arr


def _to_float_rgb(image: np.ndarray, what: str) -> np.ndarray:
    """One image as (H, W, 3) float64 in [0, 1] (grey repeated to R = G = B)."""
    arr = _check_image_array(np.asarray(image), what)
    if arr.ndim == 3 and arr.shape[-1] != 3:
        raise ValueError(f"{what}: expected one image (H, W) or (H, W, 3), got {arr.shape}")
    if arr.ndim == 4:
        raise ValueError(f"{what}: expected one image, got a batch of shape {arr.shape}")
    x = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=-1)
    return np.clip(x, 0.0, 1.0)


__all__ = ["SuperResolution"]
