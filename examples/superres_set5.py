"""Super-resolution on Set5 (issue 13): an SRResNet trained on T91 with an L1 pixel loss,
scored with the standard protocol next to bicubic (papers: bicubic 28.43 dB, SSIM 0.8104 in
EDSR's and RCAN's tables; SRResNet 32.05 dB / 0.9019 at x4 in Ledig et al. 2017).

Protocol (genmodels.superres.evaluation): the HR image cropped to a multiple of the scale,
the LR input made by MATLAB's antialiased bicubic imresize (rounded to 8 bits), the
Y channel (BT.601, MATLAB's rgb2ycbcr), a border of ``scale`` pixels cropped, PSNR and
SSIM from scikit-image. Set5 is never trained on (T91 has no Set5 image).

Writes the model and its checkpoints to ``--out``, the table (per image and mean) to
stdout and ``--out``/set5_x<s>.md, and for each Set5 image a side-by-side picture
(bicubic / ours / original, a ``--crop``-pixel centre crop at full resolution) to
docs/img/superres_x<s>_<name>.png.

    .venv/bin/python examples/superres_set5.py                  # the ~40-minute CPU recipe
    .venv/bin/python examples/superres_set5.py --scale 2 --epochs 20
    .venv/bin/python examples/superres_set5.py --resume         # carry on a killed run

Data: $GENMODELS_DATASETS (default ../shared/datasets)/set5 and sr_train/T91.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from genmodels.datasets import DatasetNotFound, set5, sr_train
from genmodels.superres import SuperResolution
from genmodels.superres.evaluation import bicubic_upscale, downscale, evaluate, modcrop

IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


def table(rows: dict[str, list], scale: int) -> str:
    names = [s.name for s in next(iter(rows.values()))]
    head = f"| Set5 x{scale} | " + " | ".join(f"{m} PSNR / SSIM" for m in rows) + " |"
    lines = [head, "|---" * (len(rows) + 1) + "|"]
    for i, name in enumerate(names):
        cells = [f"{r[i].psnr:.2f} / {r[i].ssim:.4f}" for r in rows.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [
        f"**{np.mean([s.psnr for s in r]):.2f} / {np.mean([s.ssim for s in r]):.4f}**"
        for r in rows.values()
    ]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines)


def side_by_side(panels: list[np.ndarray], crop: int, gap: int = 4) -> np.ndarray:
    """Centre crops of the same size, left to right, on a white background."""
    h, w = panels[0].shape[:2]
    ch, cw = min(crop, h), min(crop, w)
    y, x = (h - ch) // 2, (w - cw) // 2
    out = np.full((ch, len(panels) * cw + (len(panels) - 1) * gap, 3), 255, np.uint8)
    for i, p in enumerate(panels):
        out[:, i * (cw + gap) : i * (cw + gap) + cw] = p[y : y + ch, x : x + cw]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, default=4, choices=(2, 4))
    p.add_argument("--n-blocks", type=int, default=8)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--patch-size", type=int, default=24, help="LR patch side")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--loss", default="l1", choices=("l1", "mse"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crop", type=int, default=128, help="side of the pictures' centre crop")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--out", default="superres-set5", help="folder for the model and table")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        test, train = set5(), sr_train()
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = SuperResolution(
        scale=args.scale,
        n_blocks=args.n_blocks,
        channels=args.channels,
        loss=args.loss,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        lr=args.lr,
        device=args.device,
        checkpoint_dir=str(out / "checkpoints"),
        random_state=args.seed,
        verbose=1,
    )
    model.fit(list(train.values()), resume=args.resume)
    minutes = sum(model.history_["epoch_time"]) / 60  # every epoch's, a resumed run's too
    s = args.scale
    model.save(out / f"superres_x{s}.safetensors")

    rows = {"bicubic": evaluate(test, s), "ours": evaluate(test, s, model.upscale)}
    text = table(rows, s)
    print(text)
    summary = {
        "scale": s,
        "minutes": round(minutes, 1),
        "threads": args.threads,
        "device": args.device,
        "steps": args.epochs * args.steps_per_epoch,
        "params": model.get_params(),
        "n_train_images": model.n_images_,
        "final_loss": model.history_["loss"][-1],
        **{k: [vars(x) for x in v] for k, v in rows.items()},
    }
    (out / f"set5_x{s}.md").write_text(text + "\n")
    (out / f"set5_x{s}.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"trained {summary['steps']} steps in {minutes:.1f} min on {args.threads} thread(s)")

    from PIL import Image

    IMG.mkdir(parents=True, exist_ok=True)
    for name, hr in test.items():
        hr = modcrop(hr, s)
        lr = downscale(hr, s)
        pic = side_by_side([bicubic_upscale(lr, s), model.upscale(lr), hr], args.crop)
        Image.fromarray(pic).save(IMG / f"superres_x{s}_{name}.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
