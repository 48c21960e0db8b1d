#!/usr/bin/python3
"""Embeds every English caption of every concept with all-MiniLM-L6-v2, the locked space both towers align to.

    /usr/bin/python3 models/align/teacher.py --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        --pretrained .cache/pretrained --out .cache/shopping-minilm/teacher.pt

Captions come from models/train/captions.py (the groups en_name, en_template, en_tag, en_category). The file holds
each distinct caption once (`texts`, `embeddings` float32 [n, 384], L2-normalised), and per concept its caption
indices by group (`by_concept[k][group]`). Held-out concepts are embedded too, for validation; the trainers skip
them (common.held_out).
"""

import argparse
import os

import torch

import common
from common import log

import minilm  # noqa: E402  (models/pretrained)
from captions import concept_captions, load_concepts  # noqa: E402  (models/train)

EN_GROUPS = ("en_name", "en_template", "en_tag", "en_category")


def embed_texts(model, tokenizer, texts, batch=256):
    out = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: less padding
    for i in range(0, len(order), batch):
        chunk = [texts[j] for j in order[i:i + batch]]
        ids, mask = tokenizer.batch(chunk)
        with torch.no_grad():
            out.append(model.embed(ids, mask))
    embeddings = torch.empty(len(texts), minilm.WIDTH)
    embeddings[torch.tensor(order)] = torch.cat(out)
    return embeddings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--pretrained", default=os.path.join(common.REPO, ".cache", "pretrained"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    concepts = load_concepts(args.concepts)
    model = minilm.load(os.path.join(args.pretrained, "minilm", "model.onnx"))
    tokenizer = minilm.WordPiece(os.path.join(args.pretrained, "minilm", "vocab.txt"))
    index, texts, by_concept = {}, [], []
    for concept in concepts:
        groups = concept_captions(concept)
        mine = {}
        for group in EN_GROUPS:
            ids = []
            for caption in groups[group]:
                key = caption.lower()
                if key not in index:
                    index[key] = len(texts)
                    texts.append(caption)
                ids.append(index[key])
            mine[group] = ids
        by_concept.append(mine)
    log(f"embedding {len(texts)} distinct English captions of {len(concepts)} concepts")
    embeddings = embed_texts(model, tokenizer, texts)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save({"ids": [c["unified"] for c in concepts], "texts": texts, "embeddings": embeddings,
                "by_concept": by_concept}, args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
