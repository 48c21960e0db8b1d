#!/usr/bin/python3
"""Distils all-MiniLM-L6-v2 (English only) into a bilingual student: Chinese and mixed text in the same space.

    /usr/bin/python3 models/align/train_student.py --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        --teacher .cache/shopping-minilm/teacher.pt --pretrained .cache/pretrained \\
        --out .cache/shopping-minilm/student [--steps 4000] [--seed 20261203]

The student is shopping-clip's text tower (models/train/model.py: a causal transformer, width 256, 4 layers,
context 32) with a 384-wide projection, on a byte-level BPE (models/train/bpe.py) learnt from the trained
concepts' captions in both languages. It is trained from scratch: nothing of a held-out concept (common.held_out)
reaches it, neither its captions nor the BPE merges they would add.

Targets come from the teacher, always on English: an English caption's target is the teacher's embedding of
that caption; a Chinese or mixed caption's target is the teacher's mean over the concept's English counterpart
group (zh_name and mixed -> the English names, zh_template -> the English name, zh_tag -> the English tags,
zh_category -> the English category captions), renormalised. The teacher's embedding of a Chinese text is never a
target: MiniLM's vocabulary has CJK characters but it was not trained on Chinese. Loss: (1 - cosine) to the target
plus 0.5 x InfoNCE of the student's embeddings against the batch's targets (temperature 0.05), so ranking, not
only closeness, is distilled. The platform routes only CJK text to the student (model.json `cjk_text`).
"""

import argparse
import json
import os
import random

import torch
import torch.nn.functional as F

import common
from common import held_out, log, warmup_cosine

from bpe import ClipBpe, train_merges  # noqa: E402  (models/train)
from captions import GROUP_WEIGHTS, concept_captions, is_catalog, load_concepts  # noqa: E402
from model import Config, TextEncoder, count_parameters  # noqa: E402

COUNTERPART = {"en_name": "en_name", "en_template": "en_template", "en_tag": "en_tag", "en_category": "en_category",
               "zh_name": "en_name", "zh_template": "en_name", "zh_tag": "en_tag", "zh_category": "en_category",
               "mixed": "en_name"}


def student_config(vocab_size: int) -> Config:
    return Config(embed_dim=384, vocab_size=vocab_size, context_length=32, text_width=256, text_layers=4, text_heads=4)


def build_pairs(concepts, teacher, indices):
    """(caption, target row, group, concept) for every caption of the given concepts; targets [n, 384]."""
    text = F.normalize(teacher["embeddings"].float(), dim=-1)
    index = {t.lower(): i for i, t in enumerate(teacher["texts"])}
    captions, targets, groups, owners = [], [], [], []
    for k in indices:
        mine = teacher["by_concept"][k]
        for group, items in concept_captions(concepts[k]).items():
            if not items:
                continue
            if group.startswith("en_"):
                vectors = [text[index[c.lower()]] for c in items]
            else:
                rows = mine[COUNTERPART[group]] or mine["en_name"]
                if group == "zh_template":
                    rows = mine["en_name"][:1]
                mean = F.normalize(text[rows].mean(0), dim=-1)
                vectors = [mean] * len(items)
            captions += items
            targets += vectors
            groups += [group] * len(items)
            owners += [k] * len(items)
    return captions, torch.stack(targets), groups, owners


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--out", required=True, help="folder: tokenizer (vocab.json, merges.txt) and student.pt")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--merges", type=int, default=8000)
    parser.add_argument("--nce-weight", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--bf16", type=int, default=1)
    parser.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    concepts = load_concepts(args.concepts)
    teacher = torch.load(args.teacher)
    if teacher["ids"] != [c["unified"] for c in concepts]:
        raise SystemExit("the teacher file was built from another concept list: rebuild it")
    trained = [k for k, c in enumerate(concepts) if not held_out(c["unified"])]
    captions, targets, groups, owners = build_pairs(concepts, teacher, trained)
    log(f"{len(captions)} captions of {len(trained)} trained concepts")

    merges = train_merges(captions, args.merges)
    tokenizer = ClipBpe.from_merges(merges)
    tokenizer.save(os.path.join(args.out, "tokenizer"))
    cfg = student_config(tokenizer.vocab_size)
    tokens = torch.tensor([tokenizer.encode_for_model(c, cfg.context_length) for c in captions], dtype=torch.long)
    student = TextEncoder(cfg)
    log(f"student: {count_parameters(student) / 1e6:.1f} M parameters, vocabulary {tokenizer.vocab_size}")

    # Sampling: a group by the captions.py weights, then a caption of that group uniformly.
    by_group = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    names = list(by_group)
    weights = [GROUP_WEIGHTS[g] for g in names]

    # Validation: the Chinese and English names of catalog concepts, trained and held out, against the teacher's
    # embedding of the English name (cosine), and zh name -> en name retrieval among all catalog concepts.
    text = F.normalize(teacher["embeddings"].float(), dim=-1)
    catalog = [k for k, c in enumerate(concepts) if is_catalog(c) and c.get("name_zh")]
    en_rows = torch.tensor([teacher["by_concept"][k]["en_name"][0] for k in catalog])
    gallery = text[en_rows]
    zh_tokens = torch.tensor([tokenizer.encode_for_model(concepts[k]["name_zh"], cfg.context_length) for k in catalog])
    en_tokens = torch.tensor([tokenizer.encode_for_model(concepts[k]["name_en"], cfg.context_length) for k in catalog])
    split = torch.tensor([held_out(concepts[k]["unified"]) for k in catalog])

    def validate():
        student.eval()
        out = {}
        with torch.no_grad():
            for lang, toks in (("zh", zh_tokens), ("en", en_tokens)):
                emb = torch.cat([student(toks[i:i + 512]) for i in range(0, len(toks), 512)])
                scores = emb @ gallery.T
                rank = (scores > scores.diag().unsqueeze(1)).sum(1)
                cos = scores.diag()
                for part, mask in (("trained", ~split), ("heldout", split)):
                    out[f"{lang}->en {part} R@1"] = round((rank[mask] < 1).float().mean().item(), 4)
                    out[f"{lang}->en {part} R@10"] = round((rank[mask] < 10).float().mean().item(), 4)
                    out[f"{lang} {part} cos"] = round(cos[mask].mean().item(), 4)
        student.train()
        return out

    decay = [p for p in student.parameters() if p.ndim == 2]
    rest = [p for p in student.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.98))
    history = []
    for step in range(1, args.steps + 1):
        lr = warmup_cosine(step, args.steps, 200, args.lr)
        for g in optimizer.param_groups:
            g["lr"] = lr
        rows = [rng.choice(by_group[rng.choices(names, weights)[0]]) for _ in range(args.batch)]
        rows_t = torch.tensor(rows)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            emb = student(tokens[rows_t])
        emb = emb.float()
        target = targets[rows_t]
        loss = (1 - (emb * target).sum(1)).mean()
        if args.nce_weight:
            same = torch.tensor([[owners[a] == owners[b] for b in rows] for a in rows], dtype=torch.float32)
            logits = emb @ target.T / 0.05
            loss = loss + args.nce_weight * -(F.log_softmax(logits, 1) * same / same.sum(1, keepdim=True)).sum(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        if step % args.eval_every == 0 or step == args.steps:
            history.append({"step": step, "loss": round(loss.item(), 4), **validate()})
            log(json.dumps(history[-1]))
    torch.save({"state": student.state_dict(), "config": cfg.to_dict(), "args": vars(args), "history": history},
               os.path.join(args.out, "student.pt"))
    log(f"wrote {os.path.join(args.out, 'student.pt')}")


if __name__ == "__main__":
    main()
