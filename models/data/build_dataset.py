#!/usr/bin/python3
"""Builds the concept list the CLIP-style model is trained on, from the packages models/data/fetch.sh unpacked.

    bash models/data/fetch.sh && /usr/bin/python3 models/data/build_dataset.py

One concept per base emoji of emoji-datasource-google's emoji.json (skin-tone variants left out), in every
category except Component, ordered by emoji.json's sort_order. Written to <cache>/dataset/concepts.jsonl, one
JSON object a line:

    unified, emoji, category, subcategory      from emoji.json
    name_en, tags_en                            emojibase-data en (name_en falls back to emoji.json's name)
    name_zh, tags_zh, group_zh, subgroup_zh     emojibase-data zh (names of groups from zh/messages.json)
    fluent                                      absolute path of the Fluent 3D .webp, or null
    fluent_flat, fluent_color                   absolute path of the Fluent Flat / Fluent Color drawing rasterised to
                                                a 256 px .png (from the package's .svg by rsvg-convert, librsvg2-bin),
                                                or null
    noto                                        absolute path of the Noto 64 px .png, or null
    twemoji                                     absolute path of the Twemoji 64 px .png, or null

The cache is $PLATFORM_DATA_CACHE, or <repo>/.cache/emoji-data.
"""

import collections
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.abspath(os.environ.get("PLATFORM_DATA_CACHE") or os.path.join(REPO, ".cache", "emoji-data"))

DATASOURCE = os.path.join(CACHE, "emoji-datasource-google")
EMOJIBASE = os.path.join(CACHE, "emojibase-data")
FLUENT_ASSETS = os.path.join(CACHE, "fluent-emoji-3d", "assets")
# The two flat Fluent styles ship as SVG: concepts.jsonl field -> the package folder under the cache.
SVG_STYLES = {"fluent_flat": "fluent-emoji-flat", "fluent_color": "fluent-emoji-modern"}
RASTER_SIZE = 256
UNRENDERED = []  # drawings rsvg-convert could not render, for the report
NOTO_IMAGES = os.path.join(DATASOURCE, "img", "google", "64")
# emoji-datasource-twitter names its images as emoji-datasource-google does (emoji.json's `image`).
TWEMOJI_IMAGES = os.path.join(CACHE, "emoji-datasource-twitter", "img", "twitter", "64")
OUTPUT = os.path.join(CACHE, "dataset", "concepts.jsonl")

SKIPPED_CATEGORIES = {"Component"}
CATALOG_CATEGORIES = ["Objects", "Food & Drink", "Activities", "Travel & Places", "Animals & Nature"]


def load_json(path):
    if not os.path.isfile(path):
        sys.exit(f"build_dataset.py: {path} is missing; run models/data/fetch.sh first")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def key_of(code):
    """A code sequence as a matching key: upper case, '-'-separated, variation selector FE0F dropped.

    Also drops the CANCEL TAG E007F ending subdivision flags: Fluent names those flags without it, with '_'
    between the tag characters (1f3f4-e0067_e0062_e0065_e006e_e0067.webp for England)."""
    parts = code.upper().replace("_", "-").split("-")
    return "-".join(p for p in parts if p and p not in ("FE0F", "E007F"))


def emoji_of(unified):
    return "".join(chr(int(p, 16)) for p in unified.split("-"))


def slug(text):
    """emoji.json's 'Food & Drink' / 'sky & weather' as emojibase's message key 'food-drink' / 'sky-weather'."""
    return text.lower().replace(" & ", "-").replace(" ", "-")


class Emojibase:
    """One locale of emojibase-data: entries by exact hexcode and by FE0F-less key, and group/subgroup names."""

    def __init__(self, locale):
        folder = os.path.join(EMOJIBASE, locale)
        entries = load_json(os.path.join(folder, "data.json"))
        messages = load_json(os.path.join(folder, "messages.json"))
        self.exact = {}
        self.loose = {}
        for entry in entries:  # top-level entries are the base emoji; skin tones sit in entry["skins"]
            hexcode = entry["hexcode"].upper()
            self.exact.setdefault(hexcode, entry)
            self.loose.setdefault(key_of(hexcode), entry)
        self.groups = {g["order"]: g for g in messages["groups"]}
        self.subgroups = {s["order"]: s for s in messages["subgroups"]}
        self.group_by_key = {g["key"]: g["message"] for g in messages["groups"]}
        self.subgroup_by_key = {s["key"]: s["message"] for s in messages["subgroups"]}

    def find(self, codes):
        for code in codes:
            if code and code.upper() in self.exact:
                return self.exact[code.upper()]
        for code in codes:
            if code and key_of(code) in self.loose:
                return self.loose[key_of(code)]
        return None

    def group_name(self, entry, category):
        if entry is not None and entry.get("group") in self.groups:
            return self.groups[entry["group"]]["message"]
        return self.group_by_key.get(slug(category))

    def subgroup_name(self, entry, subcategory):
        if entry is not None and entry.get("subgroup") in self.subgroups:
            return self.subgroups[entry["subgroup"]]["message"]
        return self.subgroup_by_key.get(slug(subcategory))


def fluent_index(folder, extension):
    """Fluent files by exact lower-case name and by FE0F-less key (exact names win)."""
    exact, loose = {}, {}
    if not os.path.isdir(folder):
        sys.exit(f"build_dataset.py: {folder} is missing; run models/data/fetch.sh first")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(extension):
            continue
        stem = name[: -len(extension)]
        path = os.path.join(folder, name)
        exact[stem.lower()] = path
        key = key_of(stem)
        # Prefer the fully-qualified spelling when both it and a FE0F-less one exist.
        if key not in loose or "fe0f" in stem.lower():
            loose[key] = path
    return exact, loose


def find_fluent(index, codes):
    exact, loose = index
    for code in codes:
        if code and code.lower() in exact:
            return exact[code.lower()]
    for code in codes:
        if code and key_of(code) in loose:
            return loose[key_of(code)]
    return None


def rasterised(svg):
    """The drawing `svg` as a RASTER_SIZE px PNG in a png256/ folder beside its assets/, rendered once
    (rsvg-convert is deterministic for a given librsvg)."""
    if svg is None:
        return None
    folder = os.path.join(os.path.dirname(os.path.dirname(svg)), "png256")
    target = os.path.join(folder, os.path.basename(svg)[: -len(".svg")] + ".png")
    if not os.path.isfile(target):
        os.makedirs(folder, exist_ok=True)
        partial = target + ".partial"
        size = str(RASTER_SIZE)
        done = subprocess.run(["rsvg-convert", "-w", size, "-h", size, "-f", "png", "-o", partial, svg],
                              capture_output=True, text=True)
        if done.returncode != 0:
            # A few drawings' filters defeat librsvg ("rendering error: NoMemory"): the concept goes without.
            UNRENDERED.append(f"{os.path.basename(svg)} ({done.stderr.strip().splitlines()[-1][-60:]})")
            if os.path.exists(partial):
                os.remove(partial)
            return None
        os.replace(partial, target)
    return target


def main():
    if shutil.which("rsvg-convert") is None:
        sys.exit("build_dataset.py: rsvg-convert is required to rasterise the Fluent Flat drawings "
                 "(apt-get install librsvg2-bin; .ci/setup installs it)")
    datasource = load_json(os.path.join(DATASOURCE, "emoji.json"))
    en = Emojibase("en")
    zh = Emojibase("zh")
    fluent = fluent_index(FLUENT_ASSETS, ".webp")
    drawings = {key: fluent_index(os.path.join(CACHE, folder, "assets"), ".svg") for key, folder in SVG_STYLES.items()}

    concepts = []
    for item in sorted(datasource, key=lambda e: e["sort_order"]):
        category = item["category"]
        if category in SKIPPED_CATEGORIES:
            continue
        unified = item["unified"].upper()
        codes = [unified, item.get("non_qualified")]
        entry_en = en.find(codes)
        entry_zh = zh.find(codes)
        noto = os.path.join(NOTO_IMAGES, item["image"]) if item.get("image") else None
        twemoji = os.path.join(TWEMOJI_IMAGES, item["image"]) if item.get("image") else None
        concepts.append({
            "unified": unified,
            "emoji": emoji_of(unified),
            "category": category,
            "subcategory": item["subcategory"],
            "name_en": entry_en["label"] if entry_en and entry_en.get("label") else item["name"].lower(),
            "name_zh": entry_zh["label"] if entry_zh and entry_zh.get("label") else None,
            "tags_en": list(entry_en.get("tags", [])) if entry_en else [],
            "tags_zh": list(entry_zh.get("tags", [])) if entry_zh else [],
            "group_zh": zh.group_name(entry_zh, category),
            "subgroup_zh": zh.subgroup_name(entry_zh, item["subcategory"]),
            "fluent": find_fluent(fluent, codes),
            **{key: rasterised(find_fluent(index, codes)) for key, index in drawings.items()},
            "noto": noto if noto and os.path.isfile(noto) else None,
            "twemoji": twemoji if twemoji and os.path.isfile(twemoji) else None,
            "_en_matched": entry_en is not None,
        })

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    temporary = OUTPUT + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="\n") as f:
        for concept in concepts:
            line = {k: v for k, v in concept.items() if not k.startswith("_")}
            f.write(json.dumps(line, ensure_ascii=False, separators=(", ", ": ")) + "\n")
    os.replace(temporary, OUTPUT)

    report(concepts)


def report(concepts):
    print(f"wrote {len(concepts)} concepts to {OUTPUT}")
    per_category = collections.OrderedDict()
    for c in concepts:
        per_category.setdefault(c["category"], []).append(c)
    header = (f"{'category':<20} {'concepts':>8} {'fluent':>7} {'flat':>6} {'color':>6} {'noto':>6} {'twemoji':>8} "
              f"{'zh name':>8} {'en label':>8}")
    print(header)
    print("-" * len(header))

    def row(name, items):
        print(f"{name:<20} {len(items):>8} {sum(1 for c in items if c['fluent']):>7} "
              f"{sum(1 for c in items if c['fluent_flat']):>6} {sum(1 for c in items if c['fluent_color']):>6} "
              f"{sum(1 for c in items if c['noto']):>6} {sum(1 for c in items if c['twemoji']):>8} "
              f"{sum(1 for c in items if c['name_zh']):>8} "
              f"{sum(1 for c in items if c['_en_matched']):>8}")

    for category, items in per_category.items():
        row(category, items)
    print("-" * len(header))
    row("total", concepts)

    if UNRENDERED:
        print(f"\nSVG drawings rsvg-convert could not render, left out ({len(UNRENDERED)}): " + ", ".join(UNRENDERED))
    no_zh = [c for c in concepts if not c["name_zh"]]
    if no_zh:
        print(f"\nwithout a zh name ({len(no_zh)}): " + ", ".join(f"{c['unified']} {c['name_en']}" for c in no_zh))
    no_en = [c for c in concepts if not c["_en_matched"]]
    if no_en:
        print(f"\nnot in emojibase en, named from emoji.json ({len(no_en)}): "
              + ", ".join(f"{c['unified']} {c['name_en']}" for c in no_en))

    print("\ncatalog categories, concepts without a Fluent 3D image:")
    for category in CATALOG_CATEGORIES:
        missing = [c for c in per_category.get(category, []) if not c["fluent"]]
        listed = ", ".join(f"{c['unified']} {c['name_en']}" for c in missing) or "none"
        print(f"  {category} ({len(missing)}): {listed}")


if __name__ == "__main__":
    main()
