#!/usr/bin/python3
"""Caches the frozen ResNet-18 trunk's features of augmented emoji renders, for training the image head.

    /usr/bin/python3 models/align/features.py --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        --pretrained .cache/pretrained --out .cache/shopping-minilm/features.pt [--views 16] [--seed 20261203]

The trunk (models/pretrained/resnet18.py, the packaged ImageNet weights) stays frozen, so its features can be
computed once: `views` augmented versions of every trained concept's Fluent 3D render and `flat_views` of each of its
drawings in three more art styles, Twemoji, Fluent Flat and Fluent Color (so the head learns one place for a concept
across styles; models/train/data.augment at 224 px, plus low resolution and posterisation here), and, clean as the platform preprocesses them, every render and
every Noto drawing (the Noto ones only for validation: the Noto style is never trained on). Held-out concepts
(common.held_out) get clean features only, for the zero-shot validation.

Features per image (FEATURE_DIM = 1280, float16): the last stage average-pooled (512, the package's own output),
the last stage max-pooled (512) and the third stage average-pooled (256). The trunk runs under bfloat16 autocast
where the CPU has it (about 9x faster here than float32; the features differ by under 1%).
"""

import argparse
import math
import os

import torch
import torch.nn.functional as F

import common
from common import IMAGE_SIZE, STAGE3, STAGE4, held_out, log

import resnet18  # noqa: E402  (models/pretrained)
from captions import load_concepts  # noqa: E402  (models/train)
from data import ImageCache, augment, inference_tensor  # noqa: E402


# The trained art styles, as concepts.jsonl's image fields; a view's style is its index here (features.pt "view_styles").
STYLES = ("fluent", "twemoji", "fluent_flat", "fluent_color")


def trunk_features(net, rgb: torch.Tensor, bf16: bool) -> torch.Tensor:
    """[b, 3, 224, 224] 0..1 RGB -> [b, FEATURE_DIM] float32."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        pooled, taps = net.features(rgb, (STAGE4, STAGE3))
        stage4, stage3 = taps[STAGE4].float(), taps[STAGE3].float()
    return torch.cat([pooled.float(), stage4.amax(dim=(2, 3)), stage3.mean(dim=(2, 3))], dim=1)


def style(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Beyond data.augment: a third of the images at a low resolution (32-96 px, scaled back up bicubic, as the
    platform enlarges small photos), and a tenth posterised to 3-6 levels per channel."""
    n, _, size, _ = x.shape
    low = torch.rand(n, generator=gen) < 0.33
    sides = torch.randint(32, 97, (n,), generator=gen)
    levels = torch.randint(3, 7, (n,), generator=gen).float()
    poster = torch.rand(n, generator=gen) < 0.10
    for i in low.nonzero().flatten().tolist():
        side = int(sides[i])
        small = F.interpolate(x[i:i + 1], size=(side, side), mode="area")
        x[i:i + 1] = F.interpolate(small, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    for i in poster.nonzero().flatten().tolist():
        x[i] = (x[i] * (levels[i] - 1)).round() / (levels[i] - 1)
    return x


def clean_rgb(paths, size):
    """The platform's preprocessing (alpha on white, shortest side bicubic to size, centre crop), 0..1."""
    return torch.stack([inference_tensor(p, size, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]) for p in paths])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--pretrained", default=os.path.join(common.REPO, ".cache", "pretrained"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--views", type=int, default=16, help="augmented views of each trained Fluent 3D render")
    parser.add_argument("--flat-views", type=int, default=8,
                        help="augmented views of each trained concept's drawing in each of the other styles")
    parser.add_argument("--reuse", default="",
                        help="an earlier features.pt: its clean features, and the views of each style it computed "
                             "with the same seed, count and settings, are taken instead of computed again")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bf16", type=int, default=1)
    parser.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    concepts = load_concepts(args.concepts)
    net = resnet18.load(os.path.join(args.pretrained, "resnet18"))
    ids = [c["unified"] for c in concepts]
    with_render = [k for k, c in enumerate(concepts) if c.get("fluent")]
    trained = [k for k in with_render if not held_out(ids[k])]
    log(f"{len(concepts)} concepts, {len(with_render)} with a 3D render, {len(trained)} of them trained on "
        f"({sum(held_out(u) for u in ids)} concepts held out)")

    def run(rgb_batches, total, what):
        out, done = [], 0
        for rgb in rgb_batches:
            out.append(trunk_features(net, rgb, bool(args.bf16)).half())
            done += rgb.shape[0]
            if done % (args.batch * 25) < rgb.shape[0]:
                log(f"  {what}: {done}/{total}")
        return torch.cat(out) if out else torch.empty(0, common.FEATURE_DIM, dtype=torch.float16)

    def batches_of(paths):
        for i in range(0, len(paths), args.batch):
            yield clean_rgb(paths[i:i + args.batch], IMAGE_SIZE)

    noto_idx = [k for k, c in enumerate(concepts) if c.get("noto")]
    earlier = torch.load(args.reuse) if args.reuse else None
    if earlier is not None and (earlier["ids"] != ids or earlier["bf16"] != bool(args.bf16)):
        raise SystemExit(f"--reuse {args.reuse}: another concept list or precision; compute without it")
    if earlier is not None and earlier["fluent_concepts"].tolist() == with_render \
            and earlier["noto_concepts"].tolist() == noto_idx:
        fluent, noto = earlier["fluent"], earlier["noto"]
        log(f"clean renders and Noto from {args.reuse}")
    else:
        fluent = run(batches_of([concepts[k]["fluent"] for k in with_render]), len(with_render), "clean renders")
        noto = run(batches_of([concepts[k]["noto"] for k in noto_idx]), len(noto_idx), "clean Noto (validation only)")

    def reused(key, members, count):
        """The views of style `key` from --reuse when they were computed exactly as they would be here."""
        recipe = {"members": members, "count": count, "seed": args.seed + STYLES.index(key)}
        if earlier is None or earlier.get("recipes", {}).get(key) != recipe:
            return None
        rows = earlier["view_styles"] == earlier["styles"].index(key)
        log(f"  {key}: {int(rows.sum())} views from {args.reuse}")
        return earlier["views"][rows], earlier["view_concepts"][rows]

    def augmented_views(members, key, count, what):
        """`count` augmented views of each of `members`' `key` image: (features, concept of each row). Each style
        draws from its own generator (seed + its index in STYLES), so adding a style changes no other's views."""
        again = reused(key, members, count)
        if again is not None:
            return again
        gen = torch.Generator().manual_seed(args.seed + STYLES.index(key))
        cache = ImageCache([concepts[k][key] for k in members], IMAGE_SIZE, int(IMAGE_SIZE * 1.25), log=log)
        order = torch.arange(len(members)).repeat(count)
        order = order[torch.randperm(order.numel(), generator=gen)]

        def batches():
            for i in range(0, order.numel(), args.batch):
                yield style(augment(cache, order[i:i + args.batch], gen), gen)

        return run(batches(), order.numel(), what), torch.tensor(members, dtype=torch.long)[order]

    members = {key: [k for k, c in enumerate(concepts) if c.get(key) and not held_out(ids[k])] for key in STYLES}
    counts = {key: args.views if key == "fluent" else args.flat_views for key in STYLES}
    parts = [augmented_views(members[key], key, counts[key], f"augmented {key} images") for key in STYLES]
    views, view_concepts = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    view_styles = torch.cat([torch.full((p[0].shape[0],), s, dtype=torch.long) for s, p in enumerate(parts)])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save({
        "ids": ids,
        "fluent_concepts": torch.tensor(with_render), "fluent": fluent,
        "noto_concepts": torch.tensor(noto_idx), "noto": noto,
        "view_concepts": view_concepts, "views": views, "view_styles": view_styles, "styles": list(STYLES),
        "recipes": {key: {"members": members[key], "count": counts[key], "seed": args.seed + STYLES.index(key)}
                    for key in STYLES},
        "seed": args.seed, "bf16": bool(args.bf16),
    }, args.out)
    made = ", ".join(f"{p[0].shape[0]} {key}" for key, p in zip(STYLES, parts))
    log(f"wrote {args.out}: {views.shape[0]} augmented views ({made}), {fluent.shape[0]} renders, {noto.shape[0]} Noto")


if __name__ == "__main__":
    main()
