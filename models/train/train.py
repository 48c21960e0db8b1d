"""Trains shopping-clip from scratch: a CLIP-architecture dual encoder (model.py) on the emoji concepts.

    /usr/bin/python3 models/train/train.py --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        --tokenizer DIR_WITH_vocab.json_AND_merges.txt --out CHECKPOINT_DIR [--steps N] [--seed S]

Each step samples `batch` distinct concepts (catalog concepts twice as likely as the rest), one caption each
(captions.py: a caption group by weight, then a caption of that group), and one image each, the Fluent 3D
render or the Noto drawing (60:40 where both exist), augmented (data.augment). The loss is CLIP's symmetric
InfoNCE with a learnable temperature, with one refinement: a caption several concepts share ("fruit", "flag")
counts every one of them in the batch as a positive (the target spreads evenly over them).

Every --eval-every steps (and at the end) it logs the loss and retrieval on the catalog concepts (the five shopping
categories with a 3D render), images preprocessed exactly as the platform does:
    noto->fluent   each Noto drawing finds its concept's 3D render among all catalog renders (R@1, R@10)
    aug->fluent    the same with a fixed set of augmented renders and drawings as queries
    en->fluent     the English name finds the render;  zh->fluent  the Chinese name
It writes CHECKPOINT_DIR/last.pt then (resumable with --resume) and metrics.jsonl; the final weights go to
CHECKPOINT_DIR/final.pt. Uses CUDA when torch.cuda.is_available() (the same code; augmentation stays on the CPU).
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bpe import ClipBpe  # noqa: E402
from captions import GROUP_WEIGHTS, concept_captions, is_catalog, load_concepts  # noqa: E402
from data import ImageCache, augment, inference_tensor, normalize  # noqa: E402
from model import Config, ShoppingClip, count_parameters  # noqa: E402

MEAN = [0.48145466, 0.4578275, 0.40821073]  # CLIP's constants; written to model.json
STD = [0.26862954, 0.26130258, 0.27577711]


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------


class Captions:
    """Every distinct caption once, tokenised; per concept the caption indices by group; shared captions' owners."""

    def __init__(self, concepts, tokenizer: ClipBpe, context_length: int):
        index, texts = {}, []
        self.by_concept = []
        owners = []
        for k, concept in enumerate(concepts):
            groups = {}
            for group, captions in concept_captions(concept).items():
                ids = []
                for caption in captions:
                    key = caption.lower()
                    if key not in index:
                        index[key] = len(texts)
                        texts.append(caption)
                        owners.append(set())
                    owners[index[key]].add(k)
                    ids.append(index[key])
                if ids:
                    groups[group] = ids
            names = list(groups)
            weights = [GROUP_WEIGHTS[g] for g in names]
            total = sum(weights)
            self.by_concept.append((names, [w / total for w in weights], groups))
        self.texts = texts
        self.tokens = torch.tensor([tokenizer.encode_for_model(t, context_length) for t in texts], dtype=torch.long)
        # Captions with more than one owner: a row each of a [shared, concepts] matrix.
        shared = [i for i, o in enumerate(owners) if len(o) > 1]
        self.shared_row = torch.full((len(texts),), -1, dtype=torch.long)
        self.shared_owners = torch.zeros(max(len(shared), 1), len(concepts), dtype=torch.bool)
        for row, i in enumerate(shared):
            self.shared_row[i] = row
            self.shared_owners[row, list(owners[i])] = True
        self.num_shared = len(shared)

    def sample(self, concept: int, rng: random.Random) -> int:
        names, weights, groups = self.by_concept[concept]
        group = rng.choices(names, weights)[0]
        return rng.choice(groups[group])

    def positives(self, captions: torch.Tensor, concepts: torch.Tensor) -> torch.Tensor:
        """[B texts, B images] bool: text i describes image j (its own concept, or another owner of its caption)."""
        rows = self.shared_row[captions]
        own = torch.eye(len(captions), dtype=torch.bool)
        shared = self.shared_owners[rows.clamp(min=0)][:, concepts]
        return torch.where((rows >= 0).unsqueeze(1), shared | own, own)


class Images:
    """The image cache plus, per concept, its cache indices (Fluent first) and the validation tensors."""

    def __init__(self, concepts, size: int, large: int):
        paths, self.fluent, self.noto = [], [], []
        for concept in concepts:
            for key, where in (("fluent", self.fluent), ("noto", self.noto)):
                if concept.get(key):
                    where.append(len(paths))
                    paths.append(concept[key])
                else:
                    where.append(-1)
        t = time.time()
        self.cache = ImageCache(paths, size, large, log=lambda m: log(m))
        log(f"decoded {len(paths)} images at {size} and {large} px in {time.time() - t:.0f} s")
        self.trainable = [k for k in range(len(concepts)) if self.fluent[k] >= 0 or self.noto[k] >= 0]

    def pick(self, concept: int, rng: random.Random, fluent_p: float = 0.6) -> int:
        f, n = self.fluent[concept], self.noto[concept]
        if f >= 0 and n >= 0:
            return f if rng.random() < fluent_p else n
        return f if f >= 0 else n


class Validation:
    """Catalog concepts: clean renders (the gallery), clean drawings, fixed augmented queries, EN and ZH names."""

    def __init__(self, concepts, images: Images, tokenizer: ClipBpe, cfg: Config, seed: int):
        catalog = [k for k, c in enumerate(concepts) if is_catalog(c)]
        self.catalog = catalog
        size = cfg.image_size
        self.gallery = torch.stack([inference_tensor(concepts[k]["fluent"], size, MEAN, STD) for k in catalog])
        with_noto = [i for i, k in enumerate(catalog) if concepts[k].get("noto")]
        self.noto_targets = torch.tensor(with_noto)
        self.noto = torch.stack([inference_tensor(concepts[catalog[i]]["noto"], size, MEAN, STD) for i in with_noto])
        gen = torch.Generator().manual_seed(seed + 1)
        indices = [images.fluent[k] for k in catalog] + [images.noto[catalog[i]] for i in with_noto]
        self.aug = normalize(augment(images.cache, torch.tensor(indices), gen, clean_p=0.0), MEAN, STD)
        self.aug_targets = torch.cat([torch.arange(len(catalog)), self.noto_targets])
        self.en = torch.tensor([tokenizer.encode_for_model(concepts[k]["name_en"], cfg.context_length) for k in catalog])
        zh = [i for i, k in enumerate(catalog) if concepts[k].get("name_zh")]
        self.zh_targets = torch.tensor(zh)
        self.zh = torch.tensor([tokenizer.encode_for_model(concepts[catalog[i]]["name_zh"], cfg.context_length) for i in zh])

    @staticmethod
    def recall(queries: torch.Tensor, gallery: torch.Tensor, targets: torch.Tensor):
        """R@1 and R@10: the share of queries whose target is among the 1 / 10 most similar gallery items (the
        target's score is read from the same matrix, so rounding cannot rank it below itself)."""
        scores = queries @ gallery.T
        rank_of_target = (scores > scores.gather(1, targets.reshape(-1, 1))).sum(-1)
        return float((rank_of_target < 1).float().mean()), float((rank_of_target < 10).float().mean())

    @torch.no_grad()
    def run(self, encode_image, encode_text, batch: int = 256) -> dict:
        def images(x):
            return torch.cat([encode_image(x[i:i + batch]) for i in range(0, len(x), batch)])

        def texts(x):
            return torch.cat([encode_text(x[i:i + batch]) for i in range(0, len(x), batch)])

        gallery = images(self.gallery)
        metrics = {}
        for name, queries, targets in (("noto->fluent", images(self.noto), self.noto_targets),
                                       ("aug->fluent", images(self.aug), self.aug_targets),
                                       ("en->fluent", texts(self.en), torch.arange(len(self.catalog))),
                                       ("zh->fluent", texts(self.zh), self.zh_targets)):
            r1, r10 = self.recall(queries, gallery, targets)
            metrics[name] = {"R@1": round(r1, 4), "R@10": round(r10, 4)}
        return metrics


def format_metrics(metrics: dict) -> str:
    return "  ".join(f"{k} {v['R@1'] * 100:.1f}/{v['R@10'] * 100:.1f}" for k, v in metrics.items())


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------


def contrastive_loss(image_emb, text_emb, scale, positives):
    """Symmetric InfoNCE; positives[i, j]: text i describes image j (the target spreads evenly over them)."""
    logits_per_text = scale * text_emb @ image_emb.T
    p = positives.float()
    text_loss = F.cross_entropy(logits_per_text, p / p.sum(1, keepdim=True))
    image_loss = F.cross_entropy(logits_per_text.T, p.T / p.T.sum(1, keepdim=True))
    return (text_loss + image_loss) / 2


def learning_rate(step: int, steps: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def parameter_groups(model: torch.nn.Module, weight_decay: float):
    """Weight decay on weight matrices and kernels; none on norms, biases, embeddings and the temperature."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "embedding" in name or "logit_scale" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--tokenizer", required=True, help="folder with vocab.json and merges.txt")
    parser.add_argument("--out", required=True, help="checkpoint folder")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20250611)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--embed-dim", type=int, default=256)
    parser.add_argument("--context-length", type=int, default=32)
    parser.add_argument("--text-layers", type=int, default=4)
    parser.add_argument("--eval-every", type=int, default=250, help="steps between validations and checkpoints")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", type=int, default=1, help="image tower in channels-last layout (CPU speed)")
    parser.add_argument("--bf16", type=int, default=1, help="bfloat16 autocast for the towers (2-3x faster on CPUs "
                        "with AVX-512 BF16; weights, projections, loss and validation stay float32)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--max-concepts", type=int, default=0, help="use only the first N concepts (smoke tests)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.out, exist_ok=True)
    log(f"shopping-clip training: {vars(args)}; device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    concepts = load_concepts(args.concepts)
    if args.max_concepts:
        concepts = concepts[:args.max_concepts]
    tokenizer = ClipBpe.from_files(os.path.join(args.tokenizer, "vocab.json"), os.path.join(args.tokenizer, "merges.txt"))
    cfg = Config(embed_dim=args.embed_dim, image_size=args.image_size, vocab_size=tokenizer.vocab_size,
                 context_length=args.context_length, text_layers=args.text_layers)

    t = time.time()
    captions = Captions(concepts, tokenizer, cfg.context_length)
    log(f"{len(concepts)} concepts, {len(captions.texts)} distinct captions ({captions.num_shared} shared by several "
        f"concepts), tokenised in {time.time() - t:.0f} s; longest {int((captions.tokens > 0).sum(1).max())} ids")
    images = Images(concepts, cfg.image_size, int(round(cfg.image_size * 1.25)))
    validation = Validation(concepts, images, tokenizer, cfg, args.seed)
    log(f"validation: {len(validation.catalog)} catalog concepts, {len(validation.noto)} drawings, "
        f"{len(validation.aug)} augmented queries")

    trainable = torch.tensor(images.trainable)
    weights = torch.tensor([2.0 if is_catalog(concepts[k]) else 1.0 for k in images.trainable])
    batch = min(args.batch, len(trainable))

    model = ShoppingClip(cfg).to(device)
    memory_format = torch.channels_last if args.channels_last and device.type == "cpu" else torch.contiguous_format
    model.visual.to(memory_format=memory_format)
    log(f"parameters: image tower {count_parameters(model.visual) / 1e6:.2f} M, text tower "
        f"{count_parameters(model.text) / 1e6:.2f} M; config {cfg.to_dict()}")
    optimizer = torch.optim.AdamW(parameter_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.98), eps=1e-6)

    gen = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)
    step, elapsed_before = 0, 0.0
    last_path = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(last_path):
        state = torch.load(last_path, map_location="cpu")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        gen.set_state(state["gen"])
        rng.setstate(state["rng"])
        step, elapsed_before = state["step"], state.get("elapsed", 0.0)
        log(f"resumed from {last_path} at step {step}")

    def checkpoint(path, extra=None):
        state = {"cfg": cfg.to_dict(), "model": model.state_dict(), "mean": MEAN, "std": STD, "step": step,
                 "args": vars(args), "elapsed": elapsed_before + time.time() - start}
        if extra:
            state.update(extra)
        torch.save(state, path + ".tmp")
        os.replace(path + ".tmp", path)

    def evaluate():
        model.eval()
        metrics = validation.run(lambda x: model.visual(x.to(device).contiguous(memory_format=memory_format)).cpu(),
                                 lambda x: model.text(x.to(device)).cpu())
        model.train()
        return metrics

    metrics_file = open(os.path.join(args.out, "metrics.jsonl"), "a", encoding="utf-8")
    start = time.time()
    window_loss, window_steps, window_start = 0.0, 0, time.time()
    timing = {"data": 0.0, "step": 0.0}
    model.train()
    while step < args.steps:
        t0 = time.time()
        chosen = trainable[torch.multinomial(weights, batch, replacement=False, generator=gen)]
        caption_ids = torch.tensor([captions.sample(int(k), rng) for k in chosen])
        image_ids = torch.tensor([images.pick(int(k), rng) for k in chosen])
        pixels = normalize(augment(images.cache, image_ids, gen), MEAN, STD)
        positives = captions.positives(caption_ids, chosen).to(device)
        tokens = captions.tokens[caption_ids].to(device)
        pixels = pixels.to(device).contiguous(memory_format=memory_format)
        t1 = time.time()

        lr = learning_rate(step, args.steps, args.warmup, args.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(args.bf16)):
            image_emb = model.visual(pixels)
            text_emb = model.text(tokens)
        loss = contrastive_loss(image_emb, text_emb, model.scale(), positives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        t2 = time.time()
        timing["data"] += t1 - t0
        timing["step"] += t2 - t1
        window_loss += float(loss)
        window_steps += 1

        if step % 25 == 0 or step == args.steps:
            per_step = (time.time() - window_start) / window_steps
            log(f"step {step}/{args.steps} loss {window_loss / window_steps:.4f} lr {lr:.2e} "
                f"scale {float(model.scale()):.1f} {per_step:.2f} s/step (data {timing['data'] / window_steps:.2f}, "
                f"model {timing['step'] / window_steps:.2f}); ETA {per_step * (args.steps - step) / 60:.0f} min")
            window_loss, window_steps, window_start = 0.0, 0, time.time()
            timing = {"data": 0.0, "step": 0.0}
        if step % args.eval_every == 0 or step == args.steps:
            t = time.time()
            metrics = evaluate()
            elapsed = elapsed_before + time.time() - start
            log(f"eval step {step} ({elapsed / 60:.1f} min): {format_metrics(metrics)}  [{time.time() - t:.0f} s]")
            metrics_file.write(json.dumps({"step": step, "minutes": round(elapsed / 60, 2), **metrics}) + "\n")
            metrics_file.flush()
            checkpoint(last_path, {"optimizer": optimizer.state_dict(), "gen": gen.get_state(), "rng": rng.getstate()})
            window_start = time.time()  # validation time is not a training step's

    checkpoint(os.path.join(args.out, "final.pt"))
    log(f"done: {step} steps in {(elapsed_before + time.time() - start) / 60:.1f} min; wrote {os.path.join(args.out, 'final.pt')}")


if __name__ == "__main__":
    main()
