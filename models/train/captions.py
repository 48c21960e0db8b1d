"""Captions for each emoji concept, in English and Chinese, grouped by kind so training can balance them.

    concept_captions(concept) -> {group: [caption, ...]}      groups: see GROUP_WEIGHTS
    load_concepts(path)        -> [concept dict, ...]          concepts.jsonl as models/data/build_dataset.py writes it

Every caption is a plain string; the list per concept is finite and deterministic (no randomness here), so the
BPE trainer sees exactly the captions training samples from, and a caption shared by several concepts ("fruit",
"a photo of a flag") can be recognised as such (training treats every owner of a caption as a positive).
"""

import json
import re
from typing import Dict, List

# Sampling weight of each caption group (training first picks a group by weight, then a caption uniformly).
# English and Chinese get the same total.
GROUP_WEIGHTS = {
    "en_name": 0.14,      # the English name as is, and light rewrites ("flag: Japan" -> "Japan flag")
    "en_template": 0.16,  # "a photo of a {en}", "buy {en}", ...
    "en_tag": 0.09,       # one tag, two tags, "{en} {tag}"
    "en_category": 0.06,  # category / subcategory words, alone or with the name
    "zh_name": 0.14,
    "zh_template": 0.16,
    "zh_tag": 0.09,
    "zh_category": 0.06,
    "mixed": 0.10,        # English and Chinese name together, or the name with its category in the other language
}

CATALOG_CATEGORIES = ["Objects", "Food & Drink", "Activities", "Travel & Places", "Animals & Nature"]

EN_TEMPLATES = [
    "a photo of {a} {en}",
    "a picture of {a} {en}",
    "an image of {a} {en}",
    "a close-up photo of {a} {en}",
    "a product photo of {a} {en}",
    "a 3d render of {a} {en}",
    "{a} {en} on a white background",
    "{a} {en} emoji",
    "{a} {en} icon",
    "{a} {en}",
    "the {en}",
    "{a} {en} for sale",
    "{en} for sale",
    "buy {en}",
    "buy {a} {en}",
    "shop {en}",
    "{en} online",
    "cheap {en}",
    "best {en}",
    "new {en}",
    "{en} deals",
    "{en} price",
    "where to buy {a} {en}",
    "i want {a} {en}",
    "looking for {a} {en}",
    "show me {a} {en}",
    "something like {a} {en}",
]

ZH_TEMPLATES = [
    "一张{zh}的照片",
    "{zh}的照片",
    "{zh}的图片",
    "{zh}的特写",
    "{zh}的产品图",
    "{zh}的3d图",
    "白色背景上的{zh}",
    "{zh}表情",
    "{zh}图标",
    "一个{zh}",
    "购买{zh}",
    "买{zh}",
    "{zh}出售",
    "{zh}特价",
    "便宜的{zh}",
    "新款{zh}",
    "{zh}多少钱",
    "在线购买{zh}",
    "哪里可以买到{zh}",
    "我想买{zh}",
    "找一个{zh}",
    "推荐{zh}",
    "{zh} 包邮",
    "{zh} 正品",
]

# Words for each category and subcategory (emoji.json's names), English and Chinese. Written for shoppers: what
# someone browsing or searching a shop would call that kind of thing.
CATEGORY_WORDS = {
    "Objects": (["object", "item", "thing", "goods", "product"], ["物品", "物件", "东西", "商品", "用品"]),
    "Food & Drink": (["food", "food and drink", "groceries", "something to eat"], ["食物", "食品", "美食", "食物饮料", "吃的"]),
    "Activities": (["activity", "hobby", "leisure", "entertainment", "fun"], ["活动", "娱乐", "爱好", "休闲"]),
    "Travel & Places": (["travel", "place", "trip", "tourism", "getting around"], ["旅行", "地点", "旅游", "出行", "交通"]),
    "Animals & Nature": (["nature", "animals and nature", "wildlife", "outdoors"], ["自然", "动物和自然", "大自然", "动植物"]),
    "Smileys & Emotion": (["smiley", "emotion", "face", "emoticon"], ["表情", "笑脸", "情绪", "表情符号"]),
    "People & Body": (["people", "person", "body"], ["人物", "人", "身体"]),
    "Symbols": (["symbol", "sign", "icon"], ["符号", "标志", "图标"]),
    "Flags": (["flag", "flags"], ["旗帜", "旗", "国旗"]),
}

SUBCATEGORY_WORDS = {
    # Activities
    "arts & crafts": (["arts and crafts", "crafts", "art supplies", "art"], ["工艺品", "手工", "美术用品", "艺术"]),
    "award-medal": (["award", "medal", "trophy", "prize"], ["奖章", "奖牌", "奖杯", "奖品"]),
    "event": (["event", "celebration", "party", "holiday", "festival"], ["活动", "庆祝", "派对", "节日"]),
    "game": (["game", "games", "toy", "toys"], ["游戏", "玩具", "桌游"]),
    "sport": (["sports", "sport", "sports equipment", "fitness"], ["运动", "体育", "运动器材", "健身"]),
    # Animals & Nature
    "animal-amphibian": (["amphibian", "animal"], ["两栖动物", "动物"]),
    "animal-bird": (["bird", "birds", "animal"], ["鸟", "鸟类", "动物"]),
    "animal-bug": (["bug", "insect", "animal"], ["昆虫", "虫子", "动物"]),
    "animal-mammal": (["mammal", "animal", "pet"], ["哺乳动物", "动物", "宠物"]),
    "animal-marine": (["sea animal", "marine animal", "fish", "animal"], ["海洋动物", "水生动物", "鱼", "动物"]),
    "animal-reptile": (["reptile", "animal"], ["爬行动物", "动物"]),
    "plant-flower": (["flower", "flowers", "plant", "bouquet"], ["花", "花卉", "植物", "鲜花"]),
    "plant-other": (["plant", "plants", "garden", "greenery"], ["植物", "绿植", "园艺", "树木"]),
    # Flags
    "country-flag": (["country flag", "national flag", "flag"], ["国旗", "国家旗帜", "旗帜"]),
    "flag": (["flag", "banner"], ["旗帜", "旗子"]),
    "subdivision-flag": (["regional flag", "flag"], ["地区旗帜", "旗帜"]),
    # Food & Drink
    "dishware": (["dishware", "tableware", "kitchenware", "utensils"], ["餐具", "厨具", "碗碟"]),
    "drink": (["drink", "drinks", "beverage"], ["饮料", "饮品", "喝的"]),
    "food-asian": (["asian food", "food", "meal"], ["亚洲美食", "亚洲食物", "食物"]),
    "food-fruit": (["fruit", "fresh fruit", "food"], ["水果", "新鲜水果", "食物"]),
    "food-prepared": (["prepared food", "meal", "fast food", "dish"], ["熟食", "饭菜", "快餐", "菜肴"]),
    "food-sweet": (["dessert", "sweets", "snack", "candy"], ["甜点", "甜食", "零食", "糖果"]),
    "food-vegetable": (["vegetable", "vegetables", "produce"], ["蔬菜", "新鲜蔬菜", "果蔬"]),
    # Objects
    "book-paper": (["book", "paper", "stationery", "reading"], ["书", "纸", "文具", "书籍"]),
    "clothing": (["clothing", "clothes", "apparel", "fashion", "accessories"], ["服装", "衣服", "服饰", "时尚", "配饰"]),
    "computer": (["computer", "electronics", "tech", "device"], ["电脑", "电子产品", "数码", "设备"]),
    "household": (["household", "home goods", "home", "housewares"], ["家居", "家用", "日用品", "家居用品"]),
    "light & video": (["light", "video", "camera", "film"], ["灯光", "视频", "摄影", "影视"]),
    "lock": (["lock", "security", "key"], ["锁", "安全", "钥匙"]),
    "mail": (["mail", "post", "letter", "envelope"], ["邮件", "信件", "邮政", "信封"]),
    "medical": (["medical", "medicine", "health", "pharmacy"], ["医疗", "药品", "健康", "医药"]),
    "money": (["money", "cash", "finance", "payment"], ["钱", "现金", "金融", "支付"]),
    "music": (["music", "audio"], ["音乐", "音频"]),
    "musical-instrument": (["musical instrument", "instrument", "music"], ["乐器", "音乐"]),
    "office": (["office", "office supplies", "stationery"], ["办公", "办公用品", "文具"]),
    "other-object": (["object", "item"], ["物品", "其他物品"]),
    "phone": (["phone", "mobile phone", "telephone", "electronics"], ["手机", "电话", "电子产品"]),
    "science": (["science", "laboratory", "lab equipment"], ["科学", "实验室", "实验器材"]),
    "sound": (["sound", "audio", "speaker"], ["声音", "音响", "音频"]),
    "tool": (["tool", "tools", "hardware", "diy"], ["工具", "五金", "五金工具"]),
    "writing": (["writing", "pen", "stationery"], ["书写", "笔", "文具"]),
    # People & Body
    "body-parts": (["body part", "body"], ["身体部位", "身体"]),
    "family": (["family", "people"], ["家庭", "家人"]),
    "hand-fingers-closed": (["hand", "hand gesture", "fist"], ["手", "手势", "拳头"]),
    "hand-fingers-open": (["hand", "hand gesture", "open hand"], ["手", "手势", "张开的手"]),
    "hand-fingers-partial": (["hand", "hand gesture", "fingers"], ["手", "手势", "手指"]),
    "hand-prop": (["hand", "hand holding something"], ["手", "拿着东西的手"]),
    "hand-single-finger": (["hand", "pointing finger"], ["手", "手指"]),
    "hands": (["hands", "gesture"], ["双手", "手势"]),
    "person": (["person", "people"], ["人", "人物"]),
    "person-activity": (["person", "activity"], ["人", "活动"]),
    "person-fantasy": (["fantasy", "character", "costume"], ["奇幻", "角色", "装扮"]),
    "person-gesture": (["gesture", "person"], ["手势", "人"]),
    "person-resting": (["resting", "relaxing"], ["休息", "放松"]),
    "person-role": (["job", "profession", "occupation"], ["职业", "工作"]),
    "person-sport": (["sports", "athlete"], ["运动", "运动员"]),
    "person-symbol": (["person", "silhouette"], ["人", "人像"]),
    # Smileys & Emotion
    "cat-face": (["cat", "cat face"], ["猫", "猫脸"]),
    "emotion": (["emotion", "feeling"], ["情绪", "情感"]),
    "face-affection": (["face", "love", "affection"], ["脸", "爱", "亲吻"]),
    "face-concerned": (["face", "worried face"], ["脸", "担心"]),
    "face-costume": (["face", "costume"], ["脸", "装扮"]),
    "face-glasses": (["face", "glasses"], ["脸", "眼镜"]),
    "face-hand": (["face", "hand over face"], ["脸", "手捂脸"]),
    "face-hat": (["face", "hat"], ["脸", "帽子"]),
    "face-negative": (["face", "angry face"], ["脸", "生气"]),
    "face-neutral-skeptical": (["face", "neutral face"], ["脸", "怀疑"]),
    "face-sleepy": (["face", "sleepy face"], ["脸", "困"]),
    "face-smiling": (["face", "smiling face", "smiley"], ["脸", "笑脸"]),
    "face-tongue": (["face", "tongue out"], ["脸", "吐舌头"]),
    "face-unwell": (["face", "sick face"], ["脸", "生病"]),
    "heart": (["heart", "love"], ["心", "爱心"]),
    "monkey-face": (["monkey", "monkey face"], ["猴子", "猴脸"]),
    # Symbols
    "alphanum": (["letters", "sign"], ["字母", "标志"]),
    "arrow": (["arrow", "direction"], ["箭头", "方向"]),
    "av-symbol": (["media symbol", "button"], ["媒体符号", "按钮"]),
    "currency": (["currency", "money"], ["货币", "钱"]),
    "gender": (["gender symbol"], ["性别符号"]),
    "geometric": (["shape", "geometric shape"], ["形状", "几何图形"]),
    "keycap": (["keycap", "number"], ["键帽", "数字"]),
    "math": (["math", "math symbol"], ["数学", "数学符号"]),
    "other-symbol": (["symbol"], ["符号"]),
    "punctuation": (["punctuation", "punctuation mark"], ["标点符号"]),
    "religion": (["religion", "religious symbol"], ["宗教", "宗教符号"]),
    "transport-sign": (["sign", "traffic sign"], ["标志", "交通标志"]),
    "warning": (["warning", "warning sign"], ["警告", "警告标志"]),
    "zodiac": (["zodiac", "star sign"], ["星座", "十二星座"]),
    # Travel & Places
    "hotel": (["hotel", "travel"], ["酒店", "旅馆"]),
    "place-building": (["building", "architecture"], ["建筑", "建筑物"]),
    "place-geographic": (["landscape", "scenery", "nature"], ["风景", "地貌", "自然"]),
    "place-map": (["map", "globe", "world"], ["地图", "地球", "世界"]),
    "place-other": (["place", "scene"], ["地点", "场景"]),
    "place-religious": (["religious place", "temple", "church"], ["宗教场所", "寺庙", "教堂"]),
    "sky & weather": (["weather", "sky"], ["天气", "天空"]),
    "time": (["time", "clock"], ["时间", "时钟"]),
    "transport-air": (["aircraft", "air travel", "transport"], ["飞机", "航空", "交通工具"]),
    "transport-ground": (["vehicle", "transport", "car"], ["车辆", "交通工具", "汽车"]),
    "transport-water": (["boat", "ship", "water transport"], ["船", "船只", "水上交通"]),
}


def load_concepts(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def is_catalog(concept: dict) -> bool:
    """The demo catalog: the five shopping categories, concepts with a Fluent 3D image."""
    return concept["category"] in CATALOG_CATEGORIES and bool(concept.get("fluent"))


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def english_names(concept: dict) -> List[str]:
    """The name and rewrites of its 'kind: detail' form: 'flag: Japan' -> 'Japan flag', 'flag of Japan'."""
    name = _clean(concept["name_en"])
    names = [name]
    if ": " in name:
        head, detail = name.split(": ", 1)
        names += [f"{detail} {head}", f"{head} {detail}", f"{head} of {detail}" if head == "flag" else f"{head} with {detail}"]
    names += [name.replace("-", " ")] if "-" in name else []
    return _unique(names)


def chinese_names(concept: dict) -> List[str]:
    name = _clean(concept.get("name_zh") or "")
    if not name:
        return []
    names = [name]
    for separator in (": ", "：", ":"):
        if separator in name:
            head, detail = name.split(separator, 1)
            head, detail = head.strip(), detail.strip()
            names += [f"{detail}{head}", f"{head} {detail}", f"{detail}{'国旗' if head == '旗' else head}"]
            break
    return _unique(names)


def _unique(items: List[str]) -> List[str]:
    seen, out = set(), []
    for item in items:
        item = _clean(item)
        if item and item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def concept_captions(concept: dict) -> Dict[str, List[str]]:
    """All captions of one concept, by group (a group may be empty, e.g. no Chinese name)."""
    en_names = english_names(concept)
    zh_names = chinese_names(concept)
    # Templates use the natural form of a 'kind: detail' name ("French Guiana flag", "法属圭亚那旗").
    en = en_names[1] if len(en_names) > 1 and ": " in en_names[0] else en_names[0]
    zh = (zh_names[1] if len(zh_names) > 1 and zh_names[1] != zh_names[0].replace(" ", "") else zh_names[0]) if zh_names else ""
    en_words = set(re.findall(r"\w+", en.lower()))
    cat_en, cat_zh = CATEGORY_WORDS.get(concept["category"], ([], []))
    sub_en, sub_zh = SUBCATEGORY_WORDS.get(concept["subcategory"], ([], []))
    tags_en = _unique([t for t in concept.get("tags_en", []) if t.lower() != en.lower()])
    tags_zh = _unique([t for t in concept.get("tags_zh", []) if t != zh])

    groups: Dict[str, List[str]] = {}
    groups["en_name"] = en_names
    groups["en_template"] = [t.format(a=_article(en), en=en) for t in EN_TEMPLATES]
    # Tags: each alone, neighbouring pairs, and with the name (tags are sorted alphabetically in the data).
    groups["en_tag"] = tags_en + [f"{a} {b}" for a, b in zip(tags_en, tags_en[1:])] + [f"{en} {t}" for t in tags_en if t.lower() not in en_words][:6] \
        + [f"a photo of {_article(t)} {t}" for t in tags_en[:3]]
    groups["en_category"] = sub_en + cat_en[:2] + [f"{en}, {w}" for w in sub_en + cat_en[:1]] + [f"{w}: {en}" for w in sub_en[:2]] \
        + [f"{_article(w)} {w}" for w in sub_en[:1]]

    if zh:
        groups["zh_name"] = zh_names
        groups["zh_template"] = [t.format(zh=zh) for t in ZH_TEMPLATES]
        groups["zh_tag"] = tags_zh + [f"{a} {b}" for a, b in zip(tags_zh, tags_zh[1:])] + [f"{zh} {t}" for t in tags_zh if t not in zh][:6] \
            + [f"{t}的照片" for t in tags_zh[:3]]
        groups["zh_category"] = sub_zh + cat_zh[:2] + [f"{zh}，{w}" for w in sub_zh + cat_zh[:1]] + [f"{w}：{zh}" for w in sub_zh[:2]] \
            + [f"{w} {zh}" for w in sub_zh[:1]]
        groups["mixed"] = [f"{en} {zh}", f"{zh} {en}"] + [f"{zh} {w}" for w in sub_en[:1]] + [f"{en} {w}" for w in sub_zh[:1]]
    else:
        groups["zh_name"] = groups["zh_template"] = groups["zh_tag"] = groups["zh_category"] = []
        groups["mixed"] = []
    return {g: _unique(c) for g, c in groups.items()}


def all_captions(concepts: List[dict]) -> List[str]:
    """Every caption of every concept, in a deterministic order (with repeats across concepts)."""
    out = []
    for concept in concepts:
        for group in GROUP_WEIGHTS:
            out += concept_captions(concept)[group]
    return out


if __name__ == "__main__":
    import argparse
    import random

    parser = argparse.ArgumentParser(description="Print the captions of a few concepts.")
    parser.add_argument("concepts", help="concepts.jsonl")
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args()
    concepts = load_concepts(args.concepts)
    for concept in random.Random(0).sample(concepts, args.n):
        print(f"== {concept['unified']} {concept['name_en']}")
        for group, captions in concept_captions(concept).items():
            print(f"  {group}: {captions}")
    total = all_captions(concepts)
    print(f"{len(concepts)} concepts, {len(total)} captions, {len(set(total))} distinct")
