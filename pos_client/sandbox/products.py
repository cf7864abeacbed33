"""The demo catalog's products, made deterministically from a seed and an index.

Product ``i`` (1-based) has the GTIN-13 ``626`` + ``i`` in 9 digits + its check
digit, so the sandbox can find any product from its GTIN without holding the
catalog in memory: a catalog of a million products is generated line by line.
The first products (the *anchors*) are the same for every seed (product 1 is
the contract's example, rice ``6260000000019``), one or more per
category and Yasna group, with a suggested shelf price, so that demos, docs and
tests can name them; the rest vary with the seed.

Imports the standard library and the pure domain only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pos_client.domain.models import Product, Unit

GTIN_PREFIX = "626"
MAX_INDEX = 999_999_999


def gtin_check_digit(first_twelve: str) -> int:
    """The GS1 check digit of the first 12 digits of a GTIN-13."""
    total = sum(map(int, first_twelve[0::2])) + 3 * sum(map(int, first_twelve[1::2]))
    return (10 - total % 10) % 10


def gtin_for_index(index: int) -> str:
    """The GTIN-13 of product ``index`` (1-based)."""
    if not 1 <= index <= MAX_INDEX:
        raise ValueError("product index out of range")
    first = f"{GTIN_PREFIX}{index:09d}"
    return first + str(gtin_check_digit(first))


def index_for_gtin(gtin: str) -> int | None:
    """The index of a sandbox GTIN, or ``None`` if ``gtin`` is not one."""
    if len(gtin) != 13 or not gtin.isascii() or not gtin.isdigit():
        return None
    if not gtin.startswith(GTIN_PREFIX) or gtin_check_digit(gtin[:12]) != int(gtin[12]):
        return None
    index = int(gtin[3:12])
    return index if index >= 1 else None


@dataclass(frozen=True, slots=True)
class Template:
    category: str
    name_fa: str
    name_en: str
    unit: Unit
    price_rial: int  # a typical shelf price (per unit: piece, kg or litre)
    groups: tuple[str, ...] = ()
    cap_percent: int = 130  # max_unit_price_rial as a percentage of the typical price


P, KG, L = Unit.PIECE, Unit.KG, Unit.LITRE

TEMPLATES: tuple[Template, ...] = (
    Template("rice", "برنج ایرانی ۱۰ کیلویی", "Iranian rice 10 kg", P, 14_500_000),
    Template("rice", "برنج هندی ۵ کیلویی", "Indian rice 5 kg", P, 4_900_000),
    Template("rice", "برنج طارم فله", "Tarom rice, loose", KG, 1_550_000),
    Template("milk-lowfat", "شیر کم‌چرب ۱ لیتری", "Low-fat milk 1 l", P, 420_000),
    Template("milk-lowfat", "شیر کم‌چرب ۲۰۰ میلی‌لیتری", "Low-fat milk 200 ml", P, 110_000),
    Template("milk-lowfat", "شیر کم‌چرب فله", "Low-fat milk, loose", L, 380_000),
    Template("yoghurt", "ماست کم‌چرب ۹۰۰ گرمی", "Low-fat yoghurt 900 g", P, 750_000),
    Template("yoghurt", "ماست کم‌چرب ۱٫۵ کیلویی", "Low-fat yoghurt 1.5 kg", P, 1_150_000),
    Template("cheese", "پنیر سفید ۴۰۰ گرمی", "White cheese 400 g", P, 1_250_000),
    Template("cheese", "پنیر لیقوان ۳۰۰ گرمی", "Lighvan cheese 300 g", P, 1_600_000),
    Template("chicken", "مرغ تازه", "Fresh chicken", KG, 1_300_000),
    Template("chicken", "سینه مرغ", "Chicken breast", KG, 2_100_000),
    Template("red-meat", "گوشت گوسفندی", "Lamb", KG, 8_500_000),
    Template("red-meat", "گوشت گوساله", "Veal", KG, 7_800_000),
    Template("red-meat", "گوشت چرخ‌کرده", "Minced meat", KG, 6_900_000),
    Template("eggs", "تخم‌مرغ ۳۰ عددی", "Eggs, 30", P, 3_200_000),
    Template("eggs", "تخم‌مرغ ۱۰ عددی", "Eggs, 10", P, 1_150_000),
    Template("fish", "ماهی قزل‌آلا", "Rainbow trout", KG, 4_200_000),
    Template("fish", "کنسرو ماهی تن ۱۸۰ گرمی", "Canned tuna 180 g", P, 1_050_000),
    Template("poultry", "بوقلمون", "Turkey", KG, 3_600_000),
    Template("poultry", "بلدرچین", "Quail", KG, 4_800_000),
    Template("oil", "روغن مایع سرخ‌کردنی ۱٫۸ لیتری", "Frying oil 1.8 l", P, 2_300_000),
    Template("oil", "روغن آفتابگردان ۸۱۰ گرمی", "Sunflower oil 810 g", P, 1_150_000),
    Template("pasta", "ماکارونی فرمی ۵۰۰ گرمی", "Pasta 500 g", P, 420_000),
    Template("pasta", "اسپاگتی ۷۰۰ گرمی", "Spaghetti 700 g", P, 560_000),
    Template("sugar", "شکر ۹۰۰ گرمی", "Sugar 900 g", P, 520_000),
    Template("sugar", "قند ۱ کیلویی", "Sugar cubes 1 kg", P, 690_000),
    Template("legumes", "لوبیا چیتی ۹۰۰ گرمی", "Pinto beans 900 g", P, 1_100_000),
    Template("legumes", "عدس ۹۰۰ گرمی", "Lentils 900 g", P, 950_000),
    Template("legumes", "نخود ۹۰۰ گرمی", "Chickpeas 900 g", P, 1_000_000),
    Template(
        "diapers",
        "پوشک بچه سایز ۱ بسته ۴۰ عددی",
        "Diapers size 1, 40",
        P,
        3_100_000,
        ("diaper-s1",),
        110,
    ),
    Template(
        "diapers",
        "پوشک بچه سایز ۲ بسته ۴۰ عددی",
        "Diapers size 2, 40",
        P,
        3_200_000,
        ("diaper-s2",),
        110,
    ),
    Template(
        "diapers",
        "پوشک بچه سایز ۳ بسته ۳۶ عددی",
        "Diapers size 3, 36",
        P,
        3_400_000,
        ("diaper-s3",),
        110,
    ),
    Template(
        "diapers",
        "پوشک بچه سایز ۴ بسته ۳۲ عددی",
        "Diapers size 4, 32",
        P,
        3_500_000,
        ("diaper-s4",),
        110,
    ),
    Template(
        "diapers",
        "پوشک بچه سایز ۵ بسته ۲۸ عددی",
        "Diapers size 5, 28",
        P,
        3_600_000,
        ("diaper-s5",),
        110,
    ),
    Template(
        "infant-food",
        "شیر خشک نوزاد مرحله ۱ ۴۰۰ گرمی",
        "Infant formula stage 1 400 g",
        P,
        1_900_000,
        ("infant-food",),
        110,
    ),
    Template(
        "infant-food",
        "غذای کودک گندم و شیر ۳۰۰ گرمی",
        "Infant cereal 300 g",
        P,
        1_200_000,
        ("infant-food",),
        110,
    ),
    Template(
        "hygiene", "دستمال مرطوب کودک ۷۰ برگ", "Baby wipes, 70", P, 650_000, ("hygiene",), 110
    ),
    Template(
        "hygiene", "شامپو بچه ۲۰۰ میلی‌لیتری", "Baby shampoo 200 ml", P, 900_000, ("hygiene",), 110
    ),
)

BRANDS: tuple[tuple[str, str], ...] = (
    ("سپیدار", "Sepidar"),
    ("آفتاب", "Aftab"),
    ("نیکان", "Nikan"),
    ("بهار", "Bahar"),
    ("کوهسار", "Kuhsar"),
    ("دشت سبز", "Dasht-e Sabz"),
    ("ستاره", "Setareh"),
    ("پارسیان", "Parsian"),
    ("مهرگان", "Mehregan"),
    ("البرز", "Alborz"),
    ("زاگرس", "Zagros"),
    ("خزر", "Khazar"),
)

#: How many products are the same for every seed (one per template).
ANCHOR_COUNT = len(TEMPLATES)


@dataclass(frozen=True, slots=True)
class Made:
    """A generated product and the shelf price a demo shop would ask for it."""

    product: Product
    price_rial: int


def _round_price(value: int) -> int:
    return max(1_000, (value // 1_000) * 1_000)


def make_product(index: int, seed: int) -> Made:
    """Product ``index`` of the catalog of ``seed`` (before any revision)."""
    gtin = gtin_for_index(index)
    if index <= ANCHOR_COUNT:
        template, brand, factor = TEMPLATES[index - 1], BRANDS[0], 100
    else:
        digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
        template = TEMPLATES[(digest[0] * 256 + digest[1]) % len(TEMPLATES)]
        brand = BRANDS[digest[2] % len(BRANDS)]
        factor = 80 + digest[3] % 41  # 80..120 percent of the typical price
    price = _round_price(template.price_rial * factor // 100)
    cap = _round_price(template.price_rial * template.cap_percent // 100)
    product = Product(
        gtin=gtin,
        name_fa=f"{template.name_fa} {brand[0]}",
        category=template.category,
        unit=template.unit,
        groups=template.groups,
        max_unit_price_rial=max(cap, price),
        deleted=False,
        name_en=f"{template.name_en}, {brand[1]}",
    )
    return Made(product=product, price_rial=price)
