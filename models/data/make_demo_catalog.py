#!/usr/bin/python3
"""Makes the demo product catalog (models/demo-catalog/) from the concepts build_dataset.py wrote.

    bash models/data/fetch.sh && /usr/bin/python3 models/data/build_dataset.py && \
        /usr/bin/python3 models/data/make_demo_catalog.py

Every base emoji of five categories (Objects, Food & Drink, Activities, Travel & Places, Animals & Nature) that has
a Fluent 3D image becomes a product: a line of catalog.jsonl in the form `platform ingest` and `serve --catalog`
read, and its image under images/. Titles come from the emojibase English label, descriptions from templates per
subcategory, prices from a range per subcategory with a seeded jitter. Deterministic: the same bytes every run.

Images are the package's own WebP files, byte for byte: they are already lossy WebP (256 px, alpha, ~5 KB);
a lossless re-encode is about four times larger and a lossy one saves ~5% at the cost of a second generation
of compression artefacts, so neither is worth it.
"""

import hashlib
import json
import math
import os
import shutil
import sys

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.abspath(os.environ.get("PLATFORM_DATA_CACHE") or os.path.join(REPO, ".cache", "emoji-data"))
CONCEPTS = os.path.join(CACHE, "dataset", "concepts.jsonl")
OUTPUT = os.path.join(REPO, "models", "demo-catalog")
IMAGES = os.path.join(OUTPUT, "images")

CATEGORIES = ["Objects", "Food & Drink", "Activities", "Travel & Places", "Animals & Nature"]
SEED = "platform-demo-catalog-v1"
SIZE_LIMIT = 8 * 1024 * 1024

# Per subcategory: (lowest price, highest price, description templates). {name} is the English label with its
# first letter capitalised (it opens the sentence). One template per product, picked by a hash of its id.
SUBCATEGORIES = {
    # Animals & Nature
    "animal-mammal": (8, 45, [
        "{name} plush toy with soft fur and hand-stitched details.",
        "{name} figurine, hand-painted and sized for a shelf or desk.",
        "{name} cuddly toy, washable and safe for all ages.",
    ]),
    "animal-bird": (8, 40, [
        "{name} plush toy with embroidered eyes and soft feathers.",
        "{name} figurine carved and painted by hand.",
    ]),
    "animal-amphibian": (8, 35, [
        "{name} plush toy, squishy and bright, for kids and collectors.",
    ]),
    "animal-reptile": (10, 45, [
        "{name} figurine with a detailed, textured finish.",
        "{name} plush toy, soft on the outside and sturdy on the inside.",
    ]),
    "animal-marine": (8, 45, [
        "{name} plush toy from our ocean collection.",
        "{name} figurine with a glossy, sea-inspired finish.",
    ]),
    "animal-bug": (5, 30, [
        "{name} model for curious minds, with true-to-life details.",
        "{name} mini figurine, a small gift for nature lovers.",
    ]),
    "plant-flower": (5, 40, [
        "{name}, freshly cut and hand-tied for same-day delivery.",
        "{name} arrangement that brightens any room.",
    ]),
    "plant-other": (5, 60, [
        "{name} for home or garden, easy to care for.",
        "{name}, grown by local nurseries and ready to display.",
    ]),
    # Food & Drink
    "food-fruit": (1, 6, [
        "{name}, fresh and ripe, picked at peak season.",
        "{name} from local growers, sweet and juicy.",
    ]),
    "food-vegetable": (1, 6, [
        "{name}, farm fresh and crisp, great for everyday cooking.",
        "{name} from the market, washed and ready to use.",
    ]),
    "food-prepared": (3, 15, [
        "{name}, freshly made and ready to enjoy.",
        "{name} prepared in-house from quality ingredients.",
    ]),
    "food-asian": (4, 15, [
        "{name}, an Asian favourite made fresh to order.",
        "{name} prepared the traditional way, ready to eat.",
    ]),
    "food-sweet": (2, 12, [
        "{name}, a sweet treat for any occasion.",
        "{name} made with real sugar and a lot of care.",
    ]),
    "drink": (2, 30, [
        "{name}, served chilled or warm as it should be.",
        "{name}, a refreshing drink for every moment.",
    ]),
    "dishware": (5, 60, [
        "{name} for the kitchen and the dining table, durable and easy to clean.",
        "{name}, a well-made kitchen essential.",
    ]),
    # Travel & Places
    "place-map": (10, 60, [
        "{name}, a detailed print for travellers and dreamers.",
        "{name} for planning the next trip, printed on sturdy paper.",
    ]),
    "place-geographic": (15, 120, [
        "{name} scenic poster, printed in rich colour.",
        "{name} travel package with a guided day trip.",
    ]),
    "place-building": (20, 200, [
        "{name} scale model, assembled and painted.",
        "{name} miniature for collectors and model builders.",
    ]),
    "place-religious": (20, 150, [
        "{name} scale model, a detailed architectural miniature.",
        "{name} art print for travellers and architecture lovers.",
    ]),
    "place-other": (15, 120, [
        "{name} wall art, printed on archival paper.",
        "{name} scenic print that brings travel memories home.",
    ]),
    "transport-ground": (20, 500, [
        "{name} model with moving parts, built to last.",
        "{name}, a ride-on toy or collector's model for all ages.",
        "{name} die-cast model with a detailed finish.",
    ]),
    "transport-water": (30, 500, [
        "{name} model, hand-finished and ready to display.",
        "{name} for the water, light and easy to handle.",
    ]),
    "transport-air": (40, 500, [
        "{name} model with a detailed livery and display stand.",
        "{name} kit for aviation fans, easy to assemble.",
    ]),
    "hotel": (15, 150, [
        "{name} for hotels and frequent travellers, sturdy and stylish.",
    ]),
    "time": (10, 250, [
        "{name} timepiece with a clean, easy-to-read face.",
        "{name} clock with a quiet movement, for home or office.",
    ]),
    "sky & weather": (10, 80, [
        "{name} night light that glows softly in the dark.",
        "{name} wall decal for bedrooms and nurseries.",
    ]),
    # Activities
    "event": (3, 40, [
        "{name} for parties and celebrations, ready to use.",
        "{name} party decoration that sets the mood.",
    ]),
    "award-medal": (10, 90, [
        "{name} for winners, engraved on request.",
        "{name}, a keepsake to celebrate every achievement.",
    ]),
    "sport": (8, 150, [
        "{name} gear for training and match days.",
        "{name} equipment, durable and regulation-ready.",
    ]),
    "game": (5, 80, [
        "{name} for game nights with family and friends.",
        "{name}, fun for all ages and easy to learn.",
    ]),
    "arts & crafts": (3, 60, [
        "{name} for creative projects at home or in class.",
        "{name}, an art supply for makers and hobbyists.",
    ]),
    # Objects
    "clothing": (10, 120, [
        "{name} in a comfortable fit for everyday wear.",
        "{name} made from quality materials, easy to care for.",
        "{name}, a wardrobe staple that goes with everything.",
    ]),
    "sound": (15, 200, [
        "{name} with clear, powerful sound.",
        "{name} for announcements and alerts, loud and reliable.",
    ]),
    "music": (15, 300, [
        "{name} for music lovers and home studios.",
        "{name} with studio-grade sound.",
    ]),
    "musical-instrument": (40, 800, [
        "{name} with a rich tone, for beginners and players alike.",
        "{name} crafted for practice and performance.",
    ]),
    "phone": (20, 600, [
        "{name} that keeps you connected at home and on the move.",
        "{name} with a clear line and a long battery life.",
    ]),
    "computer": (10, 1200, [
        "{name} for work and play, reliable and fast.",
        "{name}, a dependable part of any desk setup.",
    ]),
    "light & video": (15, 700, [
        "{name} for film makers, photographers and home cinemas.",
        "{name} that captures and shows every detail.",
    ]),
    "book-paper": (3, 30, [
        "{name}, printed on quality paper with a durable binding.",
        "{name} for reading, notes and keeping ideas.",
    ]),
    "money": (5, 80, [
        "{name} for collectors and savers.",
        "{name}, a collectible for anyone who likes to save.",
    ]),
    "mail": (3, 60, [
        "{name} for letters and parcels, sturdy and weatherproof.",
        "{name} that keeps mail organised.",
    ]),
    "writing": (2, 40, [
        "{name} with a smooth line for writing and sketching.",
        "{name} for school, office and studio.",
    ]),
    "office": (2, 50, [
        "{name} that keeps the desk organised.",
        "{name}, an office essential built for daily use.",
    ]),
    "lock": (5, 80, [
        "{name} that keeps what matters safe.",
        "{name} made of hardened steel, simple and secure.",
    ]),
    "tool": (8, 120, [
        "{name} for workshop and home repairs, built to last.",
        "{name} with a comfortable grip and a tough finish.",
    ]),
    "science": (10, 400, [
        "{name} for the lab, the classroom and curious minds.",
        "{name}, precise and durable for experiments.",
    ]),
    "medical": (3, 80, [
        "{name} for the first-aid kit and everyday care.",
        "{name}, a trusted medical supply.",
    ]),
    "household": (10, 600, [
        "{name} for a comfortable, well-kept home.",
        "{name} that fits any room and is easy to maintain.",
    ]),
    "other-object": (5, 150, [
        "{name}, a curious piece for collectors.",
        "{name} that makes a one-of-a-kind gift.",
    ]),
}
FALLBACK = (5, 50, ["{name}, a quality product from our catalog."])

SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
ACRONYMS = {"dna": "DNA", "ufo": "UFO", "atm": "ATM", "id": "ID", "tv": "TV", "dvd": "DVD", "cd": "CD"}
PRICE_ENDINGS = ("0.99", "0.49", "0.00")


def digest(*parts):
    """A deterministic 64-bit number for the given parts (Python's hash() is salted per process)."""
    data = "\x1f".join((SEED,) + parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def title_case(name):
    def word_case(word, first):
        if word.lower() in ACRONYMS:
            return ACRONYMS[word.lower()]
        if not first and word.lower() in SMALL_WORDS:
            return word.lower()
        return word[:1].upper() + word[1:]

    words = []
    for i, word in enumerate(name.split(" ")):
        parts = word.split("-")
        words.append("-".join(word_case(p, i == 0 and j == 0) for j, p in enumerate(parts)))
    return " ".join(words)


def description(concept, product_id):
    templates = SUBCATEGORIES.get(concept["subcategory"], FALLBACK)[2]
    template = templates[digest("description", product_id) % len(templates)]
    words = [ACRONYMS.get(w.lower(), w) for w in concept["name_en"].split(" ")]
    name = " ".join(words)
    sentence = template.format(name=name[:1].upper() + name[1:])
    return f"{sentence} {concept['name_zh']}" if concept.get("name_zh") else sentence


def price(concept, product_id):
    """Log-uniform in the subcategory's range, then set to a shop-like ending (x.99, x.49 or x.00)."""
    low, high, _ = SUBCATEGORIES.get(concept["subcategory"], FALLBACK)
    u = (digest("price", product_id) % 1_000_000) / 1_000_000
    value = low * math.pow(high / low, u)
    whole = max(int(value), 1 if low >= 1 else 0)
    ending = PRICE_ENDINGS[digest("ending", product_id) % len(PRICE_ENDINGS)]
    cents = int(ending[2:])
    if whole == 0 and cents == 0:
        cents = 99
    if whole + cents / 100 > high:  # stay inside the range
        whole, cents = high - 1, 99
    return f"{whole}.{cents:02d}"


def joined_tags(tags, name):
    seen, out = set(), []
    for tag in list(tags) + ([name] if name else []):
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return ", ".join(out)


def check_image(path):
    with Image.open(path) as image:
        if image.format != "WEBP":
            sys.exit(f"make_demo_catalog.py: {path} is {image.format}, not WebP")
        image.load()
        return image.size, image.mode


def catalog_line(product):
    """One JSON line with the fields in a fixed order and the price as a two-decimal number."""
    fields = []
    for key, value in product.items():
        rendered = value if key == "price" else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        fields.append(f"{json.dumps(key)}: {rendered}")
    return "{" + ", ".join(fields) + "}"


def main():
    if not os.path.isfile(CONCEPTS):
        sys.exit(f"make_demo_catalog.py: {CONCEPTS} is missing; run models/data/build_dataset.py first")
    with open(CONCEPTS, encoding="utf-8") as f:
        concepts = [json.loads(line) for line in f if line.strip()]

    selected = [c for c in concepts if c["category"] in CATEGORIES and c.get("fluent")]
    os.makedirs(IMAGES, exist_ok=True)

    lines, wanted, counts, skipped, sizes = [], set(), {c: 0 for c in CATEGORIES}, [], {}
    for concept in selected:
        unified = concept["unified"]
        product_id = "emoji-" + unified.lower()
        if product_id in wanted:
            sys.exit(f"make_demo_catalog.py: duplicate id {product_id}")
        if concept["subcategory"] not in SUBCATEGORIES:
            print(f"note: no templates for subcategory '{concept['subcategory']}', using the fallback")
        size, mode = check_image(concept["fluent"])
        sizes[(size, mode)] = sizes.get((size, mode), 0) + 1

        image_name = product_id + ".webp"
        target = os.path.join(IMAGES, image_name)
        with open(concept["fluent"], "rb") as f:
            data = f.read()
        if not os.path.isfile(target) or open(target, "rb").read() != data:
            with open(target, "wb") as f:
                f.write(data)
        wanted.add(product_id)

        attributes = {"emoji": unified}
        if concept.get("name_zh"):
            attributes["title_zh"] = concept["name_zh"]
        attributes["subcategory"] = concept["subcategory"]
        attributes["tags"] = joined_tags(concept.get("tags_en", []), concept["name_en"])
        if concept.get("name_zh"):
            attributes["tags_zh"] = joined_tags(concept.get("tags_zh", []), concept["name_zh"])

        lines.append(catalog_line({
            "id": product_id,
            "title": title_case(concept["name_en"]),
            "description": description(concept, product_id),
            "category": concept["category"],
            "price": price(concept, product_id),
            "attributes": attributes,
            "image": "images/" + image_name,
        }))
        counts[concept["category"]] += 1

    for name in sorted(os.listdir(IMAGES)):  # images of products no longer in the catalog
        if name[: -len(".webp")] not in wanted or not name.endswith(".webp"):
            path = os.path.join(IMAGES, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            skipped.append(name)

    with open(os.path.join(OUTPUT, "catalog.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    total_bytes = sum(os.path.getsize(os.path.join(root, n)) for root, _, names in os.walk(OUTPUT) for n in names)
    print(f"wrote {len(lines)} products to {os.path.join(OUTPUT, 'catalog.jsonl')}")
    for category in CATEGORIES:
        print(f"  {category:<18} {counts[category]:>4}")
    print("image sizes: " + ", ".join(f"{w}x{h} {m}: {n}" for ((w, h), m), n in sorted(sizes.items())))
    if skipped:
        print(f"removed {len(skipped)} stale file(s) from images/")
    print(f"folder size: {total_bytes / 1024 / 1024:.2f} MiB ({total_bytes} bytes)")
    if total_bytes > SIZE_LIMIT:
        sys.exit(f"make_demo_catalog.py: {OUTPUT} is over {SIZE_LIMIT} bytes")


if __name__ == "__main__":
    main()
