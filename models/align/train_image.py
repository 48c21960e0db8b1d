#!/usr/bin/python3
"""Trains the image head: frozen ResNet-18 features -> all-MiniLM-L6-v2's space (locked), contrastively.

    /usr/bin/python3 models/align/train_image.py --features .cache/shopping-minilm/features.pt \\
        --teacher .cache/shopping-minilm/teacher.pt --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        --out .cache/shopping-minilm/image_head.pt [--steps 3000] [--seed 20261203]

Head (ImageHead): sqrt of the trunk features (they are post-ReLU; the square root evens out their heavy tail),
standardised per dimension, then a residual MLP: W2 gelu(W1 x) + Ws x, L2-normalised to 384.

Each step takes `batch` distinct trained concepts, two cached augmented views of each concept (of its Fluent 3D
render or its Twemoji drawing; with probability `--cross-style` one of each, where it has both) and one of its English
captions (a group by the captions.py weights renormalised over the English groups, then a caption).
Loss: symmetric InfoNCE image <-> caption (a caption several concepts own counts each of them as a positive),
plus `--view-weight` x InfoNCE between the two views (keeps instances apart, so image-to-image search still tells
apart concepts it never saw), plus `--name-weight` x cross-entropy of each view against every trained concept's
English name (the whole vocabulary of trained names, not just the batch). Learnable temperature.

Validation (printed, and written with the head): over the 849 catalog concepts, the clean renders as the gallery:
Noto drawing -> render (the unseen style), Noto -> render for the held-out concepts only, and the English name ->
render for trained and for held-out concepts.
"""

import argparse
import json
import math
import os
import random

import torch
import torch.nn.functional as F

import common
from common import FEATURE_DIM, held_out, log, warmup_cosine

from captions import GROUP_WEIGHTS, is_catalog, load_concepts  # noqa: E402  (models/train)

EN_GROUPS = ("en_name", "en_template", "en_tag", "en_category")


class ImageHead(torch.nn.Module):
    def __init__(self, hidden: int = 1024, out: int = 384):
        super().__init__()
        self.register_buffer("mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("std", torch.ones(FEATURE_DIM))
        self.fc1 = torch.nn.Linear(FEATURE_DIM, hidden)
        self.fc2 = torch.nn.Linear(hidden, out)
        self.skip = torch.nn.Linear(FEATURE_DIM, out, bias=False)
        torch.nn.init.zeros_(self.fc2.weight)

    def standardised(self, features):
        return (features.float().clamp(min=0).sqrt() - self.mean) / self.std

    def forward(self, features, dropout: float = 0.0):
        """Embeddings [b, 384]; `dropout` drops standardised features (training only)."""
        x = self.standardised(features)
        if dropout:
            x = F.dropout(x, dropout, training=True)
        return F.normalize(self.fc2(F.gelu(self.fc1(x), approximate="tanh")) + self.skip(x), dim=-1)


def view_pair(by_style, rows, cross_style, rng):
    """Two distinct view rows of one concept: `by_style` its rows per art style, `rows` all of them. With probability
    `cross_style`, where it has two styles or more, two styles are drawn and a view of each."""
    if len(by_style) > 1 and rng.random() < cross_style:
        first, second = rng.sample(list(by_style.values()), 2)
        return rng.choice(first), rng.choice(second)
    return tuple(rng.sample(rows, 2))


def recall(queries, gallery, targets, ks=(1, 10)):
    """queries [q, d], gallery [g, d] (both normalised), targets [q] gallery row of each query's answer."""
    scores = queries @ gallery.T
    rank = (scores > scores.gather(1, targets.unsqueeze(1))).sum(1)
    return {f"R@{k}": round((rank < k).float().mean().item(), 4) for k in ks}


class Validation:
    def __init__(self, concepts, feats, teacher):
        ids = feats["ids"]
        fluent_row = {int(k): i for i, k in enumerate(feats["fluent_concepts"])}
        noto_row = {int(k): i for i, k in enumerate(feats["noto_concepts"])}
        catalog = [k for k, c in enumerate(concepts) if is_catalog(c) and k in fluent_row]
        self.gallery_features = feats["fluent"][[fluent_row[k] for k in catalog]]
        position = {k: i for i, k in enumerate(catalog)}
        self.sets = {}
        for name, pick in (("noto", lambda k: True), ("noto-heldout", lambda k: held_out(ids[k]))):
            ks = [k for k in catalog if k in noto_row and pick(k)]
            self.sets[name] = (feats["noto"][[noto_row[k] for k in ks]], torch.tensor([position[k] for k in ks]))
        for name, pick in (("name-trained", lambda k: not held_out(ids[k])), ("name-heldout", lambda k: held_out(ids[k]))):
            ks = [k for k in catalog if pick(k)]
            names = teacher["embeddings"][[teacher["by_concept"][k]["en_name"][0] for k in ks]]
            self.sets[name] = (names, torch.tensor([position[k] for k in ks]))

    def run(self, head):
        with torch.no_grad():
            gallery = head(self.gallery_features)
            out = {}
            for name, (queries, targets) in self.sets.items():
                q = F.normalize(queries.float(), dim=-1) if name.startswith("name") else head(queries)
                for key, value in recall(q, gallery, targets).items():
                    out[f"{name} {key}"] = value
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--features", required=True)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--view-weight", type=float, default=1.0)
    parser.add_argument("--name-weight", type=float, default=0.0)
    parser.add_argument("--styles", default="",
                        help="experiments: the art styles to train on, of features.pt's (default: all it has)")
    parser.add_argument("--cross-style", type=float, default=0.5,
                        help="probability that a concept's two views are one render and one drawing, where it has both")
    parser.add_argument("--dropout", type=float, default=0.3, help="feature dropout on the standardised input")
    parser.add_argument("--without", default="", help="experiments: feature groups to leave out (avg4, max4, avg3)")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    concepts = load_concepts(args.concepts)
    feats = torch.load(args.features)
    teacher = torch.load(args.teacher)
    if feats["ids"] != teacher["ids"] or feats["ids"] != [c["unified"] for c in concepts]:
        raise SystemExit("features, teacher and concepts come from different concept lists: rebuild them together")
    text = F.normalize(teacher["embeddings"].float(), dim=-1)

    views, view_concepts = feats["views"], feats["view_concepts"]
    styles = feats.get("view_styles", torch.zeros(views.shape[0], dtype=torch.long)).tolist()
    style_names = feats.get("styles", ["fluent"])
    wanted = set(filter(None, args.styles.split(","))) or set(style_names)
    if wanted - set(style_names):
        raise SystemExit(f"--styles: {', '.join(sorted(wanted - set(style_names)))} not in the features "
                         f"(they have {', '.join(style_names)})")
    rows_of, style_rows = {}, {}
    for row, k in enumerate(view_concepts.tolist()):
        if style_names[styles[row]] not in wanted:
            continue
        rows_of.setdefault(k, []).append(row)
        style_rows.setdefault(k, {}).setdefault(styles[row], []).append(row)
    trained = sorted(rows_of)
    if any(held_out(feats["ids"][k]) for k in trained):
        raise SystemExit("the feature cache has views of held-out concepts")
    # Caption owners, for the multi-positive targets: caption index -> trained concepts that have it.
    owners = {}
    for k in trained:
        for group in EN_GROUPS:
            for i in teacher["by_concept"][k][group]:
                owners.setdefault(i, set()).add(k)
    # Captions more than one trained concept owns ("fruit", "a photo of a flag"): a row each of [shared, concepts].
    shared = sorted(i for i, o in owners.items() if len(o) > 1)
    shared_row = {i: r for r, i in enumerate(shared)}
    shared_owners = torch.zeros(max(len(shared), 1), len(feats["ids"]), dtype=torch.bool)
    for i in shared:
        shared_owners[shared_row[i], list(owners[i])] = True
    weights = [GROUP_WEIGHTS[g] for g in EN_GROUPS]
    names = text[[teacher["by_concept"][k]["en_name"][0] for k in trained]]
    name_row = {k: i for i, k in enumerate(trained)}

    head = ImageHead(args.hidden, text.shape[1])
    used = torch.tensor(sorted(r for rows in rows_of.values() for r in rows))
    sample = views[used[torch.randperm(used.numel())[:8192]]].float().clamp(min=0).sqrt()
    head.mean.copy_(sample.mean(0))
    head.std.copy_(sample.std(0).clamp(min=1e-3))
    scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.05)))
    decay = [p for n, p in head.named_parameters() if p.ndim == 2]
    rest = [p for n, p in head.named_parameters() if p.ndim < 2] + [scale]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    validation = Validation(concepts, feats, teacher)
    history = []

    groups = {"avg4": (0, 512), "max4": (512, 1024), "avg3": (1024, FEATURE_DIM)}
    keep = torch.ones(FEATURE_DIM)
    for name in filter(None, args.without.split(",")):
        lo, hi = groups[name]
        keep[lo:hi] = 0
    if keep.min() == 0:
        # A left-out group is constant after standardisation: zero mean, infinite spread.
        head.std[keep == 0] = 1e9

    def forward_views(rows):
        return head(views[rows], args.dropout)

    for step in range(1, args.steps + 1):
        lr = warmup_cosine(step, args.steps, 100, args.lr)
        for g in optimizer.param_groups:
            g["lr"] = lr
        batch = rng.sample(trained, min(args.batch, len(trained)))
        first, second, captions = [], [], []
        for k in batch:
            a, b = view_pair(style_rows[k], rows_of[k], args.cross_style, rng)
            first.append(a)
            second.append(b)
            group = rng.choices(EN_GROUPS, weights)[0]
            pool = teacher["by_concept"][k][group] or teacher["by_concept"][k]["en_name"]
            captions.append(rng.choice(pool))
        v1, v2 = forward_views(torch.tensor(first)), forward_views(torch.tensor(second))
        t = text[captions]
        logit = scale.exp().clamp(max=100)
        batch_t = torch.tensor(batch)
        positives = torch.eye(len(batch), dtype=torch.bool)
        for r, c in enumerate(captions):
            if c in shared_row:
                positives[r] |= shared_owners[shared_row[c], batch_t]
        positives = positives.float()
        logits = logit * t @ v1.T  # [captions, images]
        loss_t = -(F.log_softmax(logits, dim=1) * positives / positives.sum(1, keepdim=True)).sum(1).mean()
        loss_i = -(F.log_softmax(logits.T, dim=1) * positives.T / positives.T.sum(1, keepdim=True)).sum(1).mean()
        loss = 0.5 * (loss_t + loss_i)
        if args.view_weight:
            same = torch.arange(len(batch))
            vv = logit * v1 @ v2.T
            loss = loss + args.view_weight * 0.5 * (F.cross_entropy(vv, same) + F.cross_entropy(vv.T, same))
        if args.name_weight:
            target = torch.tensor([name_row[k] for k in batch])
            loss = loss + args.name_weight * 0.5 * (F.cross_entropy(logit * v1 @ names.T, target)
                                                    + F.cross_entropy(logit * v2 @ names.T, target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.eval_every == 0 or step == args.steps:
            metrics = validation.run(head.eval())
            head.train()
            history.append({"step": step, "loss": round(loss.item(), 4), "scale": round(logit.item(), 2), **metrics})
            log(json.dumps(history[-1]))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save({"state": head.eval().state_dict(), "hidden": args.hidden, "config": vars(args), "history": history},
               args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
