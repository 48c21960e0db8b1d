#!/usr/bin/python3
"""Builds models/test-clip/: a tiny CLIP-shaped model package with random weights, for tests and first runs.

Run with Debian's interpreter (it has torch 1.13):  /usr/bin/python3 models/make_test_model.py

Everything is deterministic (fixed seeds, one thread, sorted iteration), so a rerun gives the same ids and
numbers. The package holds:
  vocab.json, merges.txt   a byte-level BPE vocabulary trained here on a small shopping corpus (CLIP's format)
  image_encoder.onnx       ONNX: "pixels" float [N,3,224,224] (already normalised with mean/std) -> "embedding" [N,128],
                           L2-normalised (models/onnx_towers.py: scripted, opset 17, symbolic batch axis)
  text_encoder.onnx        ONNX: "input_ids" int64 [N,77] (SOT, ids, EOT, zeros) -> "embedding" [N,128], L2-normalised
  model.json               the manifest the C# side reads
  reference.json           token ids and leading embedding values the C# side must reproduce (computed with the
                           scripted modules the ONNX files are exported from)
"""

import html
import json
import os
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from heapq import heapify, heappop, heappush
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_towers  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-clip")
SEED = 20240611
NUM_MERGES = 3000
CONTEXT_LENGTH = 77
EMBED_DIM = 128
IMAGE_SIZE = 224
PATCH = 32
WIDTH = 128
LAYERS = 2
HEADS = 4
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
END_OF_WORD = "</w>"

# ---------------------------------------------------------------------------------------------------------------
# Corpus: shopping words and phrases, English and some Chinese.
# ---------------------------------------------------------------------------------------------------------------

COLORS = """red blue green black white navy beige grey gray pink purple yellow orange brown olive khaki burgundy
teal turquoise ivory cream silver gold charcoal mint coral lavender maroon mustard tan camel nude multicolor
transparent clear dark light pastel neon""".split()

MATERIALS = """cotton linen silk wool cashmere leather suede denim polyester nylon canvas velvet satin fleece bamboo
steel aluminium aluminum ceramic glass wooden oak walnut rubber silicone plastic mesh knit corduroy tweed jersey
chiffon lace marble porcelain copper brass titanium carbon""".split()

PRODUCTS = """dress shirt t-shirt blouse sweater cardigan hoodie sweatshirt jacket coat raincoat parka blazer suit vest
jeans chinos trousers pants shorts skirt leggings joggers pajamas swimsuit bikini underwear bra socks tights scarf
gloves beanie cap hat belt tie sneakers shoes trainers boots sandals slippers loafers heels flats backpack handbag
bag tote wallet purse suitcase luggage sunglasses glasses watch smartwatch bracelet necklace earrings ring pendant
phone smartphone case laptop tablet headphones earbuds speaker keyboard mouse monitor charger cable adapter camera
lens tripod television tv router drive console controller printer microphone projector drone kettle toaster blender
microwave cooker pan pot wok knife spatula mug cup teapot bottle thermos plate bowl cushion pillow duvet blanket
sheets towel curtains rug carpet lamp sofa couch armchair desk chair table bookshelf shelf mirror candle vase clock
frame shampoo conditioner cream moisturizer serum sunscreen lipstick mascara foundation perfume cologne lotion soap
toothbrush toothpaste razor dryer straightener mat dumbbells kettlebell racket ball football basketball bicycle bike
helmet tent stroller diapers crib toy doll puzzle blocks notebook pen pencil marker backpack umbrella jewelry apron
hanger basket bin broom vacuum iron fan heater humidifier purifier""".split()

MULTIWORD_PRODUCTS = """maxi dress|midi dress|mini dress|summer dress|evening gown|wedding dress|polo shirt|dress shirt
|denim jacket|leather jacket|puffer jacket|down jacket|trench coat|rain jacket|skinny jeans|wide leg trousers
|cargo pants|yoga pants|running shorts|pencil skirt|sports bra|ankle socks|wool scarf|leather gloves|baseball cap
|sun hat|bucket hat|running shoes|hiking boots|ankle boots|rain boots|flip flops|high heels|tote bag|crossbody bag
|shoulder bag|laptop bag|gym bag|phone case|screen protector|wireless earbuds|bluetooth speaker|gaming mouse
|mechanical keyboard|usb cable|power bank|memory card|hard drive|smart tv|game console|coffee maker
|espresso machine|electric kettle|air fryer|rice cooker|frying pan|knife set|cutting board|water bottle|lunch box
|dinner plates|bed sheets|throw pillow|shower curtain|desk lamp|floor lamp|office chair|coffee table|dining table
|wall clock|photo frame|face cream|eye cream|hand cream|nail polish|hair dryer|electric toothbrush|yoga mat
|tennis racket|golf balls|mountain bike|sleeping bag|fishing rod|board game|teddy bear|building blocks
|baby stroller|car seat|dog bed|cat toy|pet food|pencil case|gift card|gift box|storage box|laundry basket
|robot vacuum|ceiling fan|space heater|air purifier""".replace("\n", "").split("|")

ATTRIBUTES = """waterproof lightweight breathable wireless rechargeable portable foldable adjustable organic handmade
vintage retro oversized slim fitted loose stretchy soft warm cozy thick thin padded quilted hooded striped floral
plaid checked dotted printed embroidered sequined ruffled pleated ribbed distressed ripped casual formal elegant
classic modern minimalist luxury premium cheap affordable durable sturdy ergonomic compact cordless smart digital
electric manual automatic unisex sporty chunky cropped long short sleeveless strapless backless high low wide
narrow mini large small medium big tiny new used refurbished original genuine official limited exclusive popular
trendy stylish comfortable cute pretty simple fancy matching reversible washable reusable recyclable
biodegradable vegan natural fragrance-free hypoallergenic""".split()

ATTRIBUTE_PHRASES = """noise cancelling|slim fit|regular fit|relaxed fit|high waist|low rise|long sleeve|short sleeve
|v neck|crew neck|zip up|button down|non-stick|dishwasher safe|machine washable|heavy duty|eco friendly|fast charging
|water resistant|anti slip|quick dry|easy care|ready to wear|made to order|free size|one size|plus size|extra large
|extra small""".replace("\n", "").split("|")

AUDIENCES = """men women kids girls boys baby toddler teens unisex adults mom dad grandma grandpa couples students
pets dogs cats""".split()
AUDIENCE_FORMS = ["men's", "women's", "kids'", "girls'", "boys'", "baby", "for men", "for women", "for kids",
                  "for girls", "for boys", "for him", "for her", "for dogs", "for cats"]

OCCASIONS = """summer winter spring autumn fall christmas halloween easter valentine's birthday wedding party office
work school travel beach gym outdoor indoor camping hiking running cycling swimming yoga tennis golf skiing garden
kitchen bathroom bedroom living holiday weekend everyday""".split()

SIZES = """xs s m l xl xxl xxxl 2xl 3xl small medium large size 6 8 10 12 14 16 36 38 40 42 44 46 32gb 64gb 128gb
256gb 512gb 1tb 2tb 4k 8k 1080p 720p 13-inch 15-inch 27-inch 55-inch 65-inch 500ml 750ml 1l 2l 5kg 10kg 2-pack
4-pack 6-pack set pair""".split()

NUMBERS = [str(n) for n in list(range(0, 30)) + [32, 40, 45, 50, 64, 75, 99, 100, 128, 150, 199, 200, 250, 256,
                                                   299, 300, 500, 999, 1000, 2024, 2025]]

SHOPPING_WORDS = """sale discount deal deals offer offers coupon voucher code price prices cheap cheapest best
bestseller bestsellers top rated review reviews rating ratings stars buy shop shopping store online cart checkout
order orders delivery shipping free returns refund exchange warranty guarantee stock available sold out new
arrivals collection brand brands outlet clearance bundle gift gifts idea ideas present wishlist compare similar
recommended trending season seasonal under over from to with without and or the a an of for in on at by my your
our this that these those is are was be it its photo picture image of style look looks outfit outfits color
colour colors size sizes fit fits material quality set kit pack piece pieces item items product products""".split()

PHRASES = """a photo of a red dress
a photo of a cat
a photo of a dog
a picture of running shoes
an image of a leather handbag
a close-up photo of a silver watch
a product photo of wireless headphones
women's summer floral maxi dress
men's slim fit blue jeans
kids' waterproof rain boots
black leather ankle boots size 38
white cotton t-shirt pack of 3
navy wool cardigan with buttons
oversized grey hoodie for teens
red dress for a wedding party
little black dress
cheap running shoes for men
best wireless earbuds under 100
noise cancelling headphones for travel
bluetooth speaker waterproof for the beach
gaming laptop 16gb ram 1tb ssd
4k smart tv 55 inch
iphone case with card holder
phone charger fast charging usb-c
stainless steel water bottle 1l
non-stick frying pan 28cm
air fryer with digital display
coffee maker with grinder
soft throw blanket for the sofa
linen bed sheets queen size
memory foam pillow
ergonomic office chair with lumbar support
standing desk adjustable height
scented candles gift set
face cream for dry skin
sunscreen spf 50 for kids
vegan lipstick matte red
perfume for women gift
yoga mat non slip 6mm
adjustable dumbbells set
tennis racket for beginners
mountain bike 29 inch
camping tent for 4 people
sleeping bag for winter
lego set for 8 year olds
teddy bear 50cm
wooden puzzle for toddlers
baby stroller lightweight foldable
dog bed washable large
cat toys interactive
school backpack for girls
leather wallet for men
gold necklace with pendant
silver earrings for women
smartwatch with heart rate monitor
sunglasses polarized for driving
christmas gifts for dad
birthday gift ideas for mom
valentine's day gifts for her
back to school deals
black friday sale
free shipping on orders over 50
new arrivals this week
top rated products
customer reviews and ratings
add to cart
buy now pay later
in stock ready to ship
limited time offer
20% off everything
buy one get one free
what's new in women's fashion
it's the best price we've seen
don't miss the summer sale
i'm looking for a blue jacket
we'll ship it tomorrow
you'd love this dress
they're back in stock
show me red shoes
find a gift for my sister
something like this but cheaper
the same bag in black
matching set top and skirt
shoes that go with this dress
a cozy sweater for autumn
a warm coat for winter
a light jacket for spring
sandals for the beach
boots for hiking in the rain
a dress like the one in the photo
vintage denim jacket oversized
handmade ceramic mug
organic cotton baby clothes
recycled plastic backpack
eco friendly reusable bags
hypoallergenic pillow for allergies
electric toothbrush with 2 heads
hair dryer with diffuser
robot vacuum cleaner with mop
air purifier for bedroom
ceiling fan with light
usb cable 2m braided
power bank 20000mah
mechanical keyboard rgb
gaming mouse wireless
27 inch monitor 144hz
wireless router wifi 6
action camera 4k waterproof
drone with camera for beginners
kitchen knife set with block
cast iron skillet
glass food storage containers
bamboo cutting board
dinner set for 6 people
wine glasses set of 4
bath towels 100% cotton
blackout curtains for bedroom
large area rug for living room
floor lamp with shelves
mid century modern armchair
velvet sofa green
marble coffee table
wall mirror round gold frame
photo frames set for wall
artificial plants for home decor
garden hose 30m
cordless drill with battery
tool box with tools
car phone holder
car seat covers
bike helmet for adults
running shorts with pockets
sports bra high support
swimsuit one piece
bikini set floral
pajamas set for women silk
men's boxer briefs 5 pack
ankle socks 10 pairs
wool beanie with pompom
leather gloves touchscreen
silk scarf printed
canvas tote bag
crossbody bag small
travel suitcase carry on
laptop sleeve 15 inch
tablet case with keyboard
e-reader with backlight
wireless charger pad
smart home speaker
security camera outdoor
video doorbell
led light strip
electric kettle glass
toaster 2 slice
hand blender set
rice cooker 1.8l
slow cooker 6 quart
espresso machine with milk frother
tea set porcelain
lunch box for kids
baby bottles anti colic
diapers size 4
baby monitor with camera
toddler shoes first walkers
girls party dress pink
boys sneakers light up
kids winter jacket
school uniform shirt white
graduation gift ideas
wedding guest dress
office outfit for women
business suit for men navy
tie and pocket square set
formal shoes black leather
casual sneakers white
hiking backpack 40l
water shoes for kids
ski jacket waterproof
thermal underwear set""".split("\n")

ZH_COLORS = "红色 蓝色 绿色 黑色 白色 灰色 粉色 紫色 黄色 橙色 棕色 米色 藏青色 金色 银色 卡其色 酒红色".split()
ZH_PRODUCTS = """连衣裙 长裙 短裙 半身裙 衬衫 T恤 毛衣 针织衫 卫衣 外套 夹克 羽绒服 风衣 大衣 西装 马甲 牛仔裤 裤子 短裤
运动裤 打底裤 睡衣 泳衣 内衣 袜子 围巾 手套 帽子 棒球帽 腰带 领带 运动鞋 跑步鞋 篮球鞋 板鞋 帆布鞋 靴子 短靴 雪地靴
凉鞋 拖鞋 高跟鞋 皮鞋 乐福鞋 背包 双肩包 手提包 斜挎包 钱包 行李箱 太阳镜 眼镜 手表 智能手表 手链 项链 耳环 戒指
手机 手机壳 笔记本电脑 平板电脑 耳机 无线耳机 蓝牙耳机 蓝牙音箱 键盘 鼠标 显示器 充电器 数据线 充电宝 相机 电视
路由器 游戏机 咖啡机 电水壶 烤面包机 搅拌机 空气炸锅 微波炉 电饭煲 平底锅 炒锅 刀具 砧板 杯子 水杯 保温杯 马克杯
饭盒 盘子 碗 筷子 抱枕 枕头 被子 床单 四件套 毛毯 毛巾 浴巾 窗帘 地毯 台灯 落地灯 沙发 椅子 办公椅 桌子 书桌 书架
镜子 蜡烛 花瓶 洗发水 护发素 沐浴露 面霜 精华 防晒霜 口红 粉底 睫毛膏 香水 指甲油 吹风机 电动牙刷 剃须刀 瑜伽垫
哑铃 网球拍 羽毛球拍 足球 篮球 自行车 头盔 帐篷 睡袋 滑板 积木 玩具 毛绒玩具 娃娃 拼图 婴儿车 安全座椅 纸尿裤
奶瓶 狗窝 猫粮 狗粮 猫砂 笔记本 钢笔 文具 雨伞 收纳盒 衣架 扫地机器人 吸尘器 电风扇 加湿器 空气净化器""".split()
ZH_ATTRIBUTES = """男士 女士 男款 女款 儿童 婴儿 男童 女童 学生 情侣 夏季 冬季 春季 秋季 春秋 新款 防水 轻便 透气 无线
便携 折叠 纯棉 真丝 羊毛 羊绒 真皮 亚麻 大码 小号 中号 大号 加厚 修身 宽松 休闲 正装 运动 复古 时尚 简约 高端 韩版
百搭 显瘦 保暖 速干 静音 智能 家用 户外 办公 旅行 特价 包邮 正品 热卖 促销 打折 优惠 爆款 限时 新品 同款""".split()
ZH_PHRASES = """红色连衣裙
跑步鞋
男士跑步鞋
女士手提包
无线蓝牙耳机
夏季新款连衣裙
儿童防水雨靴
黑色真皮短靴
白色纯棉T恤
宽松卫衣女
保温杯 大容量
笔记本电脑 轻薄
手机壳 防摔
空气炸锅 家用
电饭煲 智能
扫地机器人 家用
送给妈妈的礼物
生日礼物 女生
情人节礼物
圣诞节礼物
双十一 优惠
满减 包邮
限时特价
新品上市
买一送一
七天无理由退货
正品保证
好评如潮
销量第一
同款 推荐
我想买一件红色的外套
有没有便宜一点的
这个有黑色的吗
适合夏天穿的裙子
送男朋友的手表
孩子上学用的书包
办公室穿的衬衫
去海边穿的凉鞋
冬天保暖的羽绒服
跑步用的耳机""".split("\n")


def build_corpus() -> List[str]:
    """The training text, one phrase a line: the lists, the hand-written phrases, and seeded combinations."""
    rng = random.Random(SEED)
    lines: List[str] = []
    lines += COLORS + MATERIALS + PRODUCTS + MULTIWORD_PRODUCTS + ATTRIBUTES + ATTRIBUTE_PHRASES + AUDIENCES
    lines += AUDIENCE_FORMS + OCCASIONS + SIZES + NUMBERS + SHOPPING_WORDS + PHRASES
    lines += ZH_COLORS + ZH_PRODUCTS + ZH_ATTRIBUTES + ZH_PHRASES
    products = PRODUCTS + MULTIWORD_PRODUCTS
    attributes = ATTRIBUTES + ATTRIBUTE_PHRASES
    for _ in range(1500):
        parts = []
        if rng.random() < 0.5:
            parts.append(rng.choice(attributes))
        if rng.random() < 0.6:
            parts.append(rng.choice(COLORS))
        if rng.random() < 0.4:
            parts.append(rng.choice(MATERIALS))
        parts.append(rng.choice(products))
        if rng.random() < 0.4:
            parts.append(rng.choice(AUDIENCE_FORMS))
        if rng.random() < 0.2:
            parts.append("for " + rng.choice(OCCASIONS))
        if rng.random() < 0.2:
            parts.append("size " + rng.choice(SIZES))
        lines.append(" ".join(parts))
    for _ in range(600):
        parts = []
        if rng.random() < 0.6:
            parts.append(rng.choice(ZH_ATTRIBUTES))
        if rng.random() < 0.5:
            parts.append(rng.choice(ZH_COLORS))
        parts.append(rng.choice(ZH_PRODUCTS))
        # Chinese is written without spaces, so a whole phrase is one pre-token.
        lines.append("".join(parts) if rng.random() < 0.7 else " ".join(parts))
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Tokeniser: the same normalisation, pre-tokenisation and BPE as Platform.Inference.Tokenization.ClipTokenizer.
# ---------------------------------------------------------------------------------------------------------------

def _printable(b: int) -> bool:
    return ord("!") <= b <= ord("~") or ord("¡") <= b <= ord("¬") or ord("®") <= b <= ord("ÿ")


def byte_table():
    """byte -> character, and the byte order of the vocabulary (printable bytes first, then the rest)."""
    table, following = {}, 256
    for b in range(256):
        if _printable(b):
            table[b] = chr(b)
        else:
            table[b] = chr(following)
            following += 1
    order = [b for b in range(256) if _printable(b)] + [b for b in range(256) if not _printable(b)]
    return table, order


BYTE_TO_CHAR, VOCAB_BYTE_ORDER = byte_table()


def normalize(text: str) -> str:
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def _kind(ch: str) -> str:
    if ch.isspace():
        return "space"
    category = unicodedata.category(ch)
    return "letter" if category[0] == "L" else "number" if category[0] == "N" else "other"


def pretokenize(text: str) -> List[str]:
    """CLIP's pattern  <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    written out as a scan by Unicode category (Python's re has no \\p{L}), over normalised text."""
    pieces, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        special = next((s for s in (SOT, EOT) if text.startswith(s, i)), None)
        if special:
            pieces.append(special)
            i += len(special)
            continue
        if ch == "'":
            if text[i + 1:i + 2] in ("s", "t", "m", "d"):
                pieces.append(text[i:i + 2])
                i += 2
                continue
            if text[i + 1:i + 3] in ("re", "ve", "ll"):
                pieces.append(text[i:i + 3])
                i += 3
                continue
        kind, j = _kind(ch), i + 1
        if kind != "number":
            while j < len(text) and _kind(text[j]) == kind:
                j += 1
        pieces.append(text[i:j])
        i = j
    return pieces


def word_symbols(piece: str) -> List[str]:
    chars = [BYTE_TO_CHAR[b] for b in piece.encode("utf-8")]
    chars[-1] += END_OF_WORD
    return chars


def merge_pair(symbols: List[str], left: str, right: str) -> List[str]:
    out, i = [], 0
    while i < len(symbols):
        if i < len(symbols) - 1 and symbols[i] == left and symbols[i + 1] == right:
            out.append(left + right)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def train_bpe(word_counts: Counter, num_merges: int):
    """Classic BPE: repeatedly merge the most frequent adjacent pair (ties: the smallest pair), counting each word
    by its frequency. Incremental pair counts and a lazy heap keep it to seconds."""
    words = [word_symbols(w) for w in sorted(word_counts)]
    freqs = [word_counts[w] for w in sorted(word_counts)]
    counts = defaultdict(int)
    where = defaultdict(set)
    for index, (symbols, freq) in enumerate(zip(words, freqs)):
        for pair in zip(symbols, symbols[1:]):
            counts[pair] += freq
            where[pair].add(index)
    heap = [(-c, a, b) for (a, b), c in counts.items()]
    heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        negative, a, b = heappop(heap)
        if counts.get((a, b), 0) != -negative or -negative <= 0:
            continue  # stale entry; the current count has its own entry
        merges.append((a, b))
        touched = set()
        for index in sorted(where.pop((a, b), ())):
            old, freq = words[index], freqs[index]
            new = merge_pair(old, a, b)
            if len(new) == len(old):
                continue
            for pair in zip(old, old[1:]):
                counts[pair] -= freq
                touched.add(pair)
            for pair in zip(new, new[1:]):
                counts[pair] += freq
                where[pair].add(index)
                touched.add(pair)
            words[index] = new
        counts.pop((a, b), None)
        touched.discard((a, b))
        for pair in touched:
            if counts[pair] > 0:
                heappush(heap, (-counts[pair], pair[0], pair[1]))
    return merges


class PyClipTokenizer:
    def __init__(self, merges):
        vocab = [BYTE_TO_CHAR[b] for b in VOCAB_BYTE_ORDER]
        vocab += [s + END_OF_WORD for s in vocab]
        seen = set(vocab)
        for a, b in merges:
            if a + b not in seen:  # two merges may spell the same token; it gets one id
                seen.add(a + b)
                vocab.append(a + b)
        vocab += [SOT, EOT]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.merges = merges
        self.sot, self.eot = self.encoder[SOT], self.encoder[EOT]

    def bpe(self, piece: str) -> List[str]:
        symbols = word_symbols(piece)
        while len(symbols) > 1:
            pairs = set(zip(symbols, symbols[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            symbols = merge_pair(symbols, *best)
        return symbols

    def encode(self, text: str) -> List[int]:
        ids = []
        for piece in pretokenize(normalize(text)):
            if piece in (SOT, EOT):
                ids.append(self.encoder[piece])
            else:
                ids += [self.encoder[s] for s in self.bpe(piece)]
        return ids

    def encode_for_model(self, text: str, context_length: int = CONTEXT_LENGTH) -> List[int]:
        tokens = [self.sot] + self.encode(text)[:context_length - 2] + [self.eot]
        return tokens + [0] * (context_length - len(tokens))


# ---------------------------------------------------------------------------------------------------------------
# Model: CLIP's dual encoder at toy size. Matrices are stored as float16 to halve the package and widened to
# float32 on use, so all arithmetic is float32; LayerNorms and biases stay float32.
# ---------------------------------------------------------------------------------------------------------------

def half_param(*shape, std: float) -> nn.Parameter:
    return nn.Parameter((torch.randn(*shape) * std).half(), requires_grad=False)


class LayerNorm(nn.Module):
    """nn.LayerNorm's scripted form lists its constants in hash order, which would make the exported bytes vary
    from run to run; this one has none."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.weight = nn.Parameter(torch.ones(width), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(width), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, [self.width], self.weight, self.bias, 1e-5)


class Linear16(nn.Module):
    def __init__(self, d_in: int, d_out: int, std: float):
        super().__init__()
        self.weight = half_param(d_out, d_in, std=std)
        self.bias = nn.Parameter(torch.zeros(d_out), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight.float(), self.bias)


class ResidualBlock(nn.Module):
    """Pre-LN transformer block: x + attn(ln_1(x)); x + mlp(ln_2(x)), QuickGELU MLP of width 4x, as CLIP."""

    def __init__(self, width: int, heads: int, layers: int):
        super().__init__()
        attn_std, proj_std, fc_std = width ** -0.5, (width ** -0.5) * ((2 * layers) ** -0.5), (2 * width) ** -0.5
        self.heads = heads
        self.scale = float((width // heads) ** -0.5)
        self.ln_1 = LayerNorm(width)
        self.qkv = Linear16(width, 3 * width, attn_std)
        self.out_proj = Linear16(width, width, proj_std)
        self.ln_2 = LayerNorm(width)
        self.c_fc = Linear16(width, 4 * width, fc_std)
        self.c_proj = Linear16(4 * width, width, proj_std)

    def attention(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        n, length, width = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        if mask is not None:
            weights = weights + mask
        weights = weights.softmax(dim=-1)
        y = torch.matmul(weights, v).transpose(1, 2).reshape(n, length, width)
        return self.out_proj(y)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        x = x + self.attention(self.ln_1(x), mask)
        h = self.c_fc(self.ln_2(x))
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        return x + self.c_proj(h)


class ImageTower(nn.Module):
    """ViT: 32x32 patches, class token, learned positions, pre-LN, blocks, LN of the class token, projection."""

    def __init__(self):
        super().__init__()
        grid = IMAGE_SIZE // PATCH
        scale = WIDTH ** -0.5
        self.patch = PATCH
        self.conv_weight = half_param(WIDTH, 3, PATCH, PATCH, std=(3 * PATCH * PATCH) ** -0.5)
        self.class_embedding = nn.Parameter(torch.randn(WIDTH) * scale, requires_grad=False)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, WIDTH) * scale, requires_grad=False)
        self.ln_pre = LayerNorm(WIDTH)
        self.blocks = nn.ModuleList([ResidualBlock(WIDTH, HEADS, LAYERS) for _ in range(LAYERS)])
        self.ln_post = LayerNorm(WIDTH)
        self.proj = half_param(WIDTH, EMBED_DIM, std=scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(image, self.conv_weight.float(), stride=self.patch)  # [N, W, g, g]
        x = x.flatten(2).transpose(1, 2)                                   # [N, g*g, W]
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, x.shape[2])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        for block in self.blocks:
            x = block(x, None)
        x = torch.matmul(self.ln_post(x[:, 0, :]), self.proj.float())
        return F.normalize(x, dim=-1)


class TextTower(nn.Module):
    """Causal transformer over token + position embeddings; final LN; the EOT position (argmax id) is projected."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.token_embedding = half_param(vocab_size, WIDTH, std=0.02)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT_LENGTH, WIDTH) * 0.01, requires_grad=False)
        self.blocks = nn.ModuleList([ResidualBlock(WIDTH, HEADS, LAYERS) for _ in range(LAYERS)])
        self.ln_final = LayerNorm(WIDTH)
        self.text_projection = half_param(WIDTH, EMBED_DIM, std=WIDTH ** -0.5)
        self.register_buffer("attn_mask", torch.full((CONTEXT_LENGTH, CONTEXT_LENGTH), float("-inf")).triu(1))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        length = text.shape[1]
        x = F.embedding(text, self.token_embedding).float() + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)]  # EOT has the highest id
        return F.normalize(torch.matmul(x, self.text_projection.float()), dim=-1)


def reference_image() -> torch.Tensor:
    """[1,3,224,224]: value(c,y,x) = (((37c + 11y + 7x) mod 256) - 128) / 128, exact in float32."""
    c = torch.arange(3).reshape(3, 1, 1)
    y = torch.arange(IMAGE_SIZE).reshape(1, IMAGE_SIZE, 1)
    x = torch.arange(IMAGE_SIZE).reshape(1, 1, IMAGE_SIZE)
    return (((37 * c + 11 * y + 7 * x) % 256).float() - 128.0).div(128.0).unsqueeze(0)


REFERENCE_TEXTS = ["a photo of a red dress", "Men's Running Shoes, size 42!", "红色连衣裙 夏季新款"]


def check_batches(module, make_input, name: str):
    """The exported module must not have a batch size baked in: each row of a batch equals its own run."""
    batch = make_input(3)
    together = module(batch)
    assert together.shape == (3, EMBED_DIM), f"{name}: shape {tuple(together.shape)}"
    for i in range(3):
        alone = module(batch[i:i + 1])
        assert torch.allclose(alone[0], together[i], atol=1e-5), f"{name}: batch row {i} differs from its own run"
    norms = together.norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5), f"{name}: outputs are not L2-normalised"


def write_json(path: str, value) -> None:
    """Indented JSON with lists of numbers kept on one line."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # Only indented lists (a raw newline after "[") match: JSON strings cannot hold one.
    text = re.sub(r"\[\n[^\[\]{}\"]*\]", lambda m: json.dumps(json.loads(m.group(0))), text)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)

    # Tokeniser.
    counts = Counter()
    for line in build_corpus():
        counts.update(pretokenize(normalize(line)))
    merges = train_bpe(counts, NUM_MERGES)
    tokenizer = PyClipTokenizer(merges)
    vocab = tokenizer.encoder
    with open(os.path.join(OUT_DIR, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(OUT_DIR, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    for piece in counts:  # every symbol BPE makes of a corpus word must be in the vocabulary (KeyError if not)
        tokenizer.encode(piece)

    # Towers.
    image_tower = ImageTower().eval()
    text_tower = TextTower(len(vocab)).eval()
    with torch.no_grad():
        image_module, text_module = onnx_towers.export_package_towers(
            image_tower, text_tower, OUT_DIR, IMAGE_SIZE, CONTEXT_LENGTH, EMBED_DIM, tokenizer.eot)
        for stale in ("image_encoder.pt", "text_encoder.pt"):  # the TorchScript towers of earlier versions
            if os.path.exists(os.path.join(OUT_DIR, stale)):
                os.remove(os.path.join(OUT_DIR, stale))

        gen = torch.Generator().manual_seed(SEED)
        check_batches(image_module, lambda n: torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen), "image tower")
        sample = [tokenizer.encode_for_model(t) for t in ["red dress", "a very long " * 40, "手机"]]
        check_batches(text_module, lambda n: torch.tensor(sample[:n], dtype=torch.long), "text tower")

        token_rows = [tokenizer.encode_for_model(t) for t in REFERENCE_TEXTS]
        text_embeddings = text_module(torch.tensor(token_rows, dtype=torch.long))
        image_embedding = image_module(reference_image())[0]

    manifest = {
        "name": "test-clip-random",
        "description": "CLIP-architecture dual encoder (ViT-32 image tower, causal text transformer, width 128, "
                       "2 layers) with random weights, for tests. Its embeddings mean nothing; regenerate with "
                       "/usr/bin/python3 models/make_test_model.py.",
        "embedding_dim": EMBED_DIM,
        "image_size": IMAGE_SIZE,
        "mean": MEAN,
        "std": STD,
        "context_length": CONTEXT_LENGTH,
        "tokenizer": {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"},
        **onnx_towers.manifest_fields(),
    }
    write_json(os.path.join(OUT_DIR, "model.json"), manifest)

    reference = {
        "about": "Values the C# side must reproduce from this package. input_ids are unpadded: the model input is "
                 "them followed by zeros up to context_length. Embeddings are the first 8 of 128 L2-normalised "
                 "values; compare with a tolerance of about 1e-4.",
        "context_length": CONTEXT_LENGTH,
        "vocab_size": len(vocab),
        "texts": [
            {
                "text": text,
                "bpe_ids": tokenizer.encode(text),
                "input_ids": [t for t in row if t != 0],
                "embedding_first8": [float(v) for v in text_embeddings[i, :8]],
            }
            for i, (text, row) in enumerate(zip(REFERENCE_TEXTS, token_rows))
        ],
        "image": {
            "formula": "float32 tensor [1,3,224,224], already normalised (no mean/std applied): "
                       "value(c,y,x) = (((37*c + 11*y + 7*x) mod 256) - 128) / 128",
            "embedding_first8": [float(v) for v in image_embedding[:8]],
        },
    }
    write_json(os.path.join(OUT_DIR, "reference.json"), reference)

    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in os.listdir(OUT_DIR))
    print(f"{len(merges)} merges, vocabulary {len(vocab)}, package {total / 1e6:.2f} MB in {OUT_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
