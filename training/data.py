"""Synthetic tool-calling conversations for the demo model, built from the example bots' real tools.

Every conversation is made of :class:`hermitcrab.Message` objects: a system prompt and tool set taken
from one example bot (``weather_bot``, ``calculator_bot``) or no tools at all, a user request from a
phrasing template, the assistant's Hermes ``<tool_call>``, the result of *really calling the tool*
(so results read exactly as the runtime will show them), and a final answer that quotes the result.

Held-out material never appears in training: phrasing templates (``split="eval"``), cities and note
words (``entities="unseen"``). Everything is driven by a ``random.Random`` seed, so a seed gives the
same conversations on any machine.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hermitcrab import Message, Tool, ToolCall

_EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(_EXAMPLES) not in sys.path:
    sys.path.insert(0, str(_EXAMPLES))

import calculator_bot  # noqa: E402
import weather_bot  # noqa: E402

__all__ = (
    "TOOLSETS",
    "Sample",
    "Toolset",
    "copy_sample",
    "dev_prompts",
    "eval_prompts",
    "generate",
    "hand_prompts",
    "render_chatml",
)

Split = Literal["train", "eval"]


@dataclass(frozen=True)
class Toolset:
    """One bot's system prompt and tools, as the example scripts use them."""

    name: str
    system: str | None
    tools: tuple[Tool[..., Any], ...]

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools]


TOOLSETS: dict[str, Toolset] = {
    "weather": Toolset("weather", weather_bot.SYSTEM, tuple(weather_bot.TOOLS)),
    "calculator": Toolset("calculator", calculator_bot.SYSTEM, tuple(calculator_bot.TOOLS)),
    "none": Toolset("none", "You are a helpful assistant.", ()),
}


@dataclass
class Sample:
    """One conversation plus what an evaluation needs to know about its last user turn."""

    toolset: Toolset
    messages: list[Message]
    prompt: str
    """The last user message."""
    tool: str | None
    """The tool the last turn should call, or ``None`` for a direct answer."""
    arguments: dict[str, Any] = field(default_factory=dict)
    seen: bool = True
    """Whether the entity in the prompt (city, note words) was in the training lists."""
    kind: str = ""


# -- entities ------------------------------------------------------------------------------------
_CITIES_TRAIN = """\
Lisbon Oslo Tokyo Paris London Berlin Madrid Rome Vienna Prague Warsaw Dublin Athens Cairo Nairobi
Lagos Accra Dakar Tunis Algiers Casablanca Johannesburg Durban Kampala Addis_Ababa Khartoum Lima
Quito Bogota Caracas Santiago Montevideo Asuncion La_Paz Havana Kingston Panama Mexico_City
Guadalajara Monterrey Toronto Montreal Vancouver Calgary Ottawa Chicago Boston Seattle Denver Dallas
Houston Miami Atlanta Phoenix Detroit Portland Austin Nashville Memphis New_York Los_Angeles
San_Francisco San_Diego Las_Vegas New_Orleans Anchorage Honolulu Sydney Melbourne Perth Brisbane
Adelaide Auckland Wellington Jakarta Manila Bangkok Hanoi Seoul Busan Osaka Kyoto Beijing Shanghai
Shenzhen Taipei Hong_Kong Singapore Kuala_Lumpur Mumbai Delhi Chennai Kolkata Karachi Lahore Dhaka
Kathmandu Colombo Tehran Baghdad Riyadh Dubai Doha Amman Beirut Istanbul Ankara Tbilisi Yerevan Baku
Tashkent Almaty Moscow Kyiv Minsk Riga Vilnius Tallinn Helsinki Stockholm Copenhagen Bergen
Reykjavik Edinburgh Glasgow Manchester Liverpool Cardiff Belfast Amsterdam Rotterdam Brussels
Antwerp Zurich Geneva Bern Munich Hamburg Frankfurt Cologne Milan Naples Turin Venice Florence
Barcelona Valencia Seville Bilbao Porto Marseille Lyon Nice Bordeaux Toulouse Budapest Bucharest
Sofia Belgrade Zagreb Ljubljana Sarajevo Skopje Tirana Krakow Gdansk Bratislava Salzburg Luxembourg
Monaco Valletta Nicosia Rabat Tangier Marrakesh Windhoek Harare Lusaka Maputo Luanda Kinshasa Abuja
Bamako Brasilia Recife Salvador Manaus Cordoba Rosario Medellin Cali Cusco Arequipa Halifax Winnipeg
Quebec Sacramento Orlando Tampa Pittsburgh Cleveland Baltimore Buffalo Omaha Tulsa Boise Tucson
Fresno Raleigh Richmond Savannah Charleston Minneapolis Milwaukee Hobart Darwin Cairns Fiji Suva
Apia Nadi Guam
""".split()  # noqa: SIM905

_CITIES_UNSEEN = """\
Lyons Innsbruck Graz Leipzig Dresden Hanover Nuremberg Stuttgart Bremen Utrecht Eindhoven Ghent
Bruges Lausanne Basel Bologna Genoa Palermo Verona Malaga Granada Zaragoza Coimbra Nantes Lille
Strasbourg Aarhus Uppsala Tampere Trondheim Poznan Wroclaw Brno Debrecen Cluj Varna Split Dubrovnik
Thessaloniki Izmir Antalya Haifa Alexandria Luxor Mombasa Kigali Arusha Zanzibar Kumasi Ibadan
Ouagadougou Niamey Gaborone Blantyre Durango Oaxaca Puebla Cancun Tijuana Merida Valparaiso Mendoza
Barranquilla Cartagena Guayaquil Trujillo Belem Fortaleza Curitiba Edmonton Victoria Regina
Saskatoon Spokane Tacoma Albuquerque El_Paso Louisville Cincinnati Columbus Indianapolis Madison
Hartford Providence Burlington Wichita Lincoln Fargo Sapporo Nagoya Fukuoka Sendai Incheon Daegu
Chengdu Wuhan Xiamen Harbin Hue Danang Cebu Davao Penang Medan Surabaya Chiang_Mai Pune Jaipur Agra
Goa Mysore Kandy Chittagong Pokhara Shiraz Isfahan Muscat Jeddah Aqaba Samarkand Bishkek Odesa Lviv
Kharkiv Kaunas Tartu Turku Gothenburg Malmo Stavanger Akureyri Aberdeen Bristol Leeds Galway Cork
Canberra Geelong Townsville Dunedin Christchurch Nelson Rotorua
""".split()  # noqa: SIM905

# Held out for evaluation only, together with _CITIES_UNSEEN: the model never sees these strings.
CITIES_TRAIN: tuple[str, ...] = tuple(c.replace("_", " ") for c in _CITIES_TRAIN)
CITIES_UNSEEN: tuple[str, ...] = tuple(c.replace("_", " ") for c in _CITIES_UNSEEN if c not in _CITIES_TRAIN)

_SYLLABLES = """\
ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si
so su ta te ti to tu va ve vi vo za zo an en in on ar er ir or el il ol as es is os ul um ax ex ix
yo ya wa wi dra tri gro ste pla kru bri fen gal hol mar nor ost pel rin sal tor val wen zan
""".split()  # noqa: SIM905


_ONSETS = """\
b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p ph pl pr qu r s sc sh sk sl sm sn sp st str sw t th
tr tw v w wh y z
""".split()  # noqa: SIM905
_VOWELS = "a e i o u a e i o u ai ea ee oo ou ie oa au y".split()  # noqa: SIM905
_CODAS = "- - - - n r s t l m ng ck ch sh st nd rt ld x ff ll ss ge ke ce de ve".split()  # noqa: SIM905
_AVOID = (
    "ass",
    "cum",
    "cock",
    "cunt",
    "dick",
    "fag",
    "fuck",
    "nig",
    "porn",
    "pussy",
    "rape",
    "sex",
    "shit",
    "slut",
    "tit",
    "whore",
)
_V5_EXTRAS = False
"""Set while variant 5 is generated: any words between a city and its unit, made-up time phrases."""
_WIDE_NAMES = False
"""Set while variant 4 is generated: half of the made-up words are then English-like ones."""
_PIECE_NAMES = False
"""Set while variant 6 is generated: half of the made-up words are then made of vocabulary pieces."""
_MULTI_NAMES = False
"""Set while variant 8 is generated: a third of the made-up names have two words, not a sixth."""
_TOKENIZER = _EXAMPLES / "demo_model" / "model" / "tokenizer.json"


def _held_out_words() -> frozenset[str]:
    words = " ".join((*CITIES_UNSEEN, *_NOTE_VERBS_UNSEEN, *_NOTE_OBJECTS_UNSEEN, *_NOTE_TIMES_UNSEEN))
    return frozenset(words.lower().split())


def wide_word(rng: random.Random) -> str:
    """An English-like made-up word ("strouck", "plieve"): its letter groups are the pieces that real
    unseen words ("recharge", "chimney") fall into, so copying them is practised. Never a held-out word."""
    while True:
        syllables = [
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS).strip("-")
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        word = "".join(syllables)
        if word not in _HELD_OUT_WORDS and not any(bad in word for bad in _AVOID):
            return word


def letter_pieces(vocab: Iterable[str]) -> tuple[str, ...]:
    """The letters-only tokens of a byte-level vocabulary, sorted: the pieces variant 6 draws from."""
    return tuple(sorted(t for t in vocab if t.isascii() and t.isalpha()))


@functools.cache
def vocabulary_pieces(path: Path | None = None) -> tuple[str, ...]:
    """The letters-only pieces of the demo tokenizer's vocabulary ("day", "aint", "burgh", "S"), sorted.

    The tokenizer is built from training text only (``train.py``'s ``_corpus``; the run checks that its own
    tokenizer has the same pieces), so this list holds no held-out material that training lacks."""
    vocab = json.loads((path or _TOKENIZER).read_text(encoding="utf-8"))["model"]["vocab"]
    return letter_pieces(vocab)


def piece_word(rng: random.Random) -> str:
    """A made-up word of 1-3 vocabulary pieces drawn uniformly ("dayburghst"), for variant 6.

    Why: a 2-layer model copies only the tokens it has practised copying. In variants 1-5, 430 of the
    1,036 tokens never occur in any copied text (argument or copy exercise): among them "day", "aint"
    and "morning". Drawing pieces uniformly gives every piece the same practice, whatever its meaning
    elsewhere. Never a held-out word."""
    pieces = vocabulary_pieces()
    while True:
        word = "".join(rng.choice(pieces) for _ in range(rng.choice((1, 2, 2, 3))))
        lower = word.lower()
        if lower not in _HELD_OUT_WORDS and not any(bad in lower for bad in _AVOID):
            return word


def made_up_name(rng: random.Random) -> str:
    """A random place-like name ("Korvali", "Port Benu"): training-only, so copying beats memorising."""

    def word() -> str:
        if _PIECE_NAMES and rng.random() < 0.5:
            text = piece_word(rng)
            return text[0].upper() + text[1:]
        if _WIDE_NAMES and rng.random() < 0.5:
            text = wide_word(rng)
            return text[0].upper() + text[1:]
        text = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        return text[0].upper() + text[1:]

    roll = rng.random()
    if roll < (0.15 if _MULTI_NAMES else 0.12):
        return f"{rng.choice(('Port', 'San', 'New', 'Saint', 'El', 'Las', 'Fort', 'Lake'))} {word()}"
    if roll < (0.33 if _MULTI_NAMES else 0.18):
        return f"{word()} {word()}"
    return word()


# Note texts: "<verb> <object> <when>". Unseen notes draw objects and times from held-out lists.
_NOTE_VERBS = (
    "buy",
    "call",
    "email",
    "pay",
    "book",
    "fix",
    "clean",
    "check",
    "send",
    "pick up",
    "return",
    "cancel",
    "water",
    "feed",
    "visit",
    "print",
    "renew",
    "order",
    "wash",
    "pack",
)
_NOTE_VERBS_UNSEEN = ("bake", "repair", "collect", "paint", "sell", "recharge", "sweep", "iron")
_NOTE_OBJECTS = (
    "milk",
    "bread",
    "the plumber",
    "mom",
    "the rent",
    "a table for two",
    "the bike",
    "the kitchen",
    "the tyres",
    "the invoice",
    "the parcel",
    "the library books",
    "the gym membership",
    "the plants",
    "the cat",
    "grandma",
    "the tickets",
    "my passport",
    "new shoes",
    "the car",
    "the dentist",
    "eggs",
    "the electricity bill",
    "the report",
    "coffee beans",
    "the boss",
    "the windows",
    "the laundry",
    "a birthday card",
    "the hotel",
    "batteries",
    "the insurance",
    "flowers for Anna",
    "the garden hose",
)
_NOTE_OBJECTS_UNSEEN = (
    "the chimney",
    "a lemon cake",
    "the violin",
    "my scooter",
    "the fence",
    "the lamp",
    "the trumpet",
    "the old sofa",
    "the aquarium",
    "a wedding gift",
    "the printer ink",
    "the balcony",
    "my headphones",
    "the porch",
    "the piano",
    "a bottle of olive oil",
)
_NOTE_TIMES = (
    "",
    "",
    "",
    "today",
    "tomorrow",
    "on Monday",
    "on Friday",
    "at 5",
    "tonight",
    "this weekend",
    "next week",
    "before noon",
    "after work",
    "on Tuesday at 9",
    "by Thursday",
)
_NOTE_TIMES_UNSEEN = ("", "", "on Sunday morning", "at half past six", "before the holidays", "next month")


_HELD_OUT_WORDS = _held_out_words()


def note_text(rng: random.Random, seen: bool = True) -> str:
    if seen:
        verbs, objects, times = _NOTE_VERBS, _NOTE_OBJECTS, _NOTE_TIMES
    else:
        verbs, objects, times = _NOTE_VERBS_UNSEEN, _NOTE_OBJECTS_UNSEEN, _NOTE_TIMES_UNSEEN
    when = rng.choice(times)
    return " ".join(p for p in (rng.choice(verbs), rng.choice(objects), when) if p)


def random_note_text(rng: random.Random) -> str:
    """A note of made-up words: training-only, to teach copying free text of any content."""
    n = rng.randint(1, 4)
    return " ".join(made_up_name(rng).lower() for _ in range(n))


# -- phrasings -----------------------------------------------------------------------------------
# Each tool has training templates and disjoint held-out ("eval") templates. Prefixes and suffixes
# multiply them. Slots: {city} {unit_phrase} {v} {a} {b} {text}.
_PREFIX = {
    "train": ("", "", "", "", "Hi! ", "Hey, ", "Please, ", "Quick question: ", "Hello. ", "Excuse me, "),
    "eval": ("", "", "Hi there, ", "Okay, ", "Sorry to bother you: "),
}

_WEATHER = {
    "train": (
        "What's the weather in {city}?",
        "What is the weather like in {city}?",
        "How's the weather in {city}?",
        "weather in {city}",
        "Weather for {city}, please.",
        "Tell me the weather in {city}.",
        "Is it raining in {city}?",
        "How hot is it in {city}?",
        "How cold is it in {city} right now?",
        "Do I need an umbrella in {city} today?",
        "Check the weather in {city} for me.",
        "{city} weather?",
        "What's the temperature in {city}?",
        "Give me the current weather in {city}.",
        "Can you look up the weather in {city}?",
        "I'm going to {city}. What's the weather there?",
        "What is it like outside in {city}?",
        "Is it sunny in {city}?",
        "Current conditions in {city}?",
        "How warm is it in {city} today?",
        "Could you get me the weather for {city}?",
        "Any news on the weather in {city}?",
    ),
    "eval": (
        "What's it like in {city} at the moment?",
        "Please report the weather in {city}.",
        "Will I need a jacket in {city}?",
        "Look up {city} weather.",
        "What is the weather doing in {city} now?",
        "Tell me how the weather is in {city}.",
        "Is it snowing in {city}?",
        "I'd like the weather for {city}.",
    ),
}
_UNIT_PHRASES = {
    "train": {
        "F": (" in Fahrenheit", " in F", ", in Fahrenheit please", " (Fahrenheit)", " in degrees F"),
        "C": (" in Celsius", " in C", ", in Celsius please", " (Celsius)", " in degrees C"),
    },
    "eval": {"F": (" using Fahrenheit", ", Fahrenheit"), "C": (" using Celsius", ", Celsius")},
}

_CONVERT = {
    "train": (
        "Convert {v} {from_word} to {to_word}.",
        "How many {to_word} is {v} {from_word}?",
        "What is {v} {from_word} in {to_word}?",
        "{v} {from_word} in {to_word}?",
        "Please convert {v} {from_word} into {to_word}.",
        "How far is {v} {from_word} in {to_word}?",
        "Change {v} {from_word} to {to_word}.",
        "I ran {v} {from_word}. How many {to_word} is that?",
    ),
    "eval": (
        "Turn {v} {from_word} into {to_word}.",
        "What does {v} {from_word} come to in {to_word}?",
        "Express {v} {from_word} in {to_word}.",
    ),
}
_UNIT_WORDS = {
    "train": {"km": ("km", "kilometres", "kilometers"), "mi": ("mi", "miles")},
    "eval": {"km": ("kilometres", "km"), "mi": ("miles",)},
}

_ADD = {
    "train": (
        "What is {a} plus {b}?",
        "What's {a} + {b}?",
        "Add {a} and {b}.",
        "{a} + {b}",
        "Please add {a} to {b}.",
        "What is the sum of {a} and {b}?",
        "Can you add {a} and {b} for me?",
        "How much is {a} plus {b}?",
        "Calculate {a} + {b}.",
    ),
    "eval": ("Sum {a} and {b}.", "What do {a} and {b} add up to?", "Compute {a} plus {b}."),
}
_MULTIPLY = {
    "train": (
        "What is {a} times {b}?",
        "What's {a} * {b}?",
        "Multiply {a} by {b}.",
        "{a} * {b}",
        "Please multiply {a} and {b}.",
        "What is the product of {a} and {b}?",
        "How much is {a} times {b}?",
        "Calculate {a} x {b}.",
    ),
    "eval": (
        "Compute {a} times {b}.",
        "What do you get if you multiply {a} by {b}?",
        "{a} multiplied by {b}?",
    ),
}
_SAVE = {
    "train": (
        "Make a note: {text}",
        "Note: {text}",
        "Please write down: {text}",
        "Save a note: {text}",
        "Add a note: {text}",
        "Remember this: {text}",
        "Put this in my notes: {text}",
        "Can you note that I need to {text}",
        "Take a note: {text}",
    ),
    "eval": ("Jot this down: {text}", "Write a note saying: {text}", "Please remember: {text}"),
}
_LIST = {
    "train": (
        "What's in my notes?",
        "Read me my notes.",
        "Show my notes.",
        "What did I write down?",
        "List my notes, please.",
        "What notes do I have?",
    ),
    "eval": ("Any notes saved?", "Tell me my notes.", "Show me the notebook."),
}

# Variant 2 (stage 3 only): more training phrasings, text after the city, made-up words inside
# real note sentences. Disjoint from every held-out ("eval") template, unit phrase and entity list.
_WEATHER_V2 = (
    "Weather report for {city}?",
    "What's the forecast for {city}?",
    "Is it windy in {city} this afternoon?",
    "How is {city} looking weather-wise?",
    "Should I bring a coat to {city} tomorrow?",
    "What are the conditions like in {city} these days?",
    "Find the weather in {city}, thanks.",
    "Temperature in {city} please",
    "Do you know the weather in {city} for my trip?",
    "weather {city} now",
)
_AFTER_CITY_V2 = (
    " today",
    " right now",
    " this evening",
    " for my trip",
    " please",
    " tomorrow",
    " currently",
)
_UNIT_PHRASES_V2 = {
    "F": (" with Fahrenheit", " in Fahrenheit degrees", " as Fahrenheit", " in F please"),
    "C": (" with Celsius", " in Celsius degrees", " as Celsius", " in C please"),
}
_SAVE_V2 = (
    "Write this down: {text}",
    "Don't let me forget: {text}",
    "Add to my notes: {text}",
    "Store a note: {text}",
    "Keep a note: {text}",
    "Record this: {text}",
    "New note: {text}",
    "Please save this note: {text}",
    "Memo: {text}",
    "Note down: {text}",
    "Could you remember this: {text}",
    "Save this: {text}",
)
_NOTE_VERBS_V2 = ("grab", "move", "hang", "fill", "tidy", "rent", "sort", "test", "lock", "find", "post")


def note_text_v2(rng: random.Random) -> str:
    """A real note sentence with made-up words inside ("buy the korvali", "zanel the bike on Monday"):
    training-only, so a note's words are copied whatever they are."""
    verb = rng.choice(_NOTE_VERBS + _NOTE_VERBS_V2) if rng.random() < 0.6 else made_up_name(rng).lower()
    if rng.random() < 0.6:
        obj = rng.choice(("the ", "a ", "my ", "")) + made_up_name(rng).lower()
    else:
        obj = rng.choice(_NOTE_OBJECTS)
    when = rng.choice(_NOTE_TIMES)
    return " ".join(p for p in (verb, obj, when) if p)


_CHAT: dict[str, tuple[tuple[str, str], ...]] = {
    "train": (
        ("Hello!", "Hello! How can I help you today?"),
        ("Hi", "Hi! What can I do for you?"),
        ("Good morning!", "Good morning! How can I help?"),
        ("Thanks!", "You're welcome!"),
        ("Thank you very much.", "You're welcome! Anything else?"),
        ("Who are you?", "I am hermitcrab's tiny demo model, a small assistant that can use tools."),
        ("How are you?", "I'm fine, thanks! How can I help?"),
        ("Tell me a joke.", "Why did the hermit crab never share? Because it was a little shellfish."),
        ("Bye!", "Goodbye! Have a nice day."),
        ("What is your name?", "I am the hermitcrab demo model."),
        ("Are you a robot?", "I am a very small language model. I can use tools to help you."),
        ("Nice.", "Glad to help!"),
    ),
    "eval": (
        ("Hey there!", "Hello! How can I help you today?"),
        ("Thanks a lot.", "You're welcome!"),
        ("Good evening.", "Good evening! How can I help?"),
        ("Tell me who you are.", "I am hermitcrab's tiny demo model, a small assistant that can use tools."),
    ),
}
_ABILITIES = {
    "weather": "I can look up the weather in a city and convert lengths between kilometres and miles.",
    "calculator": "I can add and multiply numbers, save notes and read your notes back.",
    "none": "I can chat with you. I have no tools in this conversation.",
}
_ABILITY_QUESTIONS = {
    "train": ("What can you do?", "What are your tools?", "How can you help me?"),
    "eval": ("What are you able to do?",),
}

_ANSWERS = {
    "get_weather": ("It is {r} right now.", "Right now it's {r}.", "The weather: {r}.", "Currently {r}."),
    "convert_length": ("{v} {f} is {r} {t}.", "That is {r} {t}.", "{v} {f} = {r} {t}."),
    "add": ("{a} plus {b} is {r}.", "The sum is {r}.", "{a} + {b} = {r}."),
    "multiply": ("{a} times {b} is {r}.", "The product is {r}.", "{a} * {b} = {r}."),
    "save_note": ("Done. {r}.", "Got it. {r}.", "{r}. Anything else?"),
    "list_notes": ("Your notes: {r}", "Here they are: {r}", "In your notebook: {r}"),
}
_PREAMBLES = ("", "", "", "", "Let me check.", "One moment.")


# -- numbers -------------------------------------------------------------------------------------
def _number(rng: random.Random) -> int | float:
    roll = rng.random()
    if roll < 0.45:
        return rng.randint(0, 99)
    if roll < 0.75:
        return rng.randint(100, 9999)
    if roll < 0.9:
        return round(rng.uniform(0, 100), 1)
    return round(rng.uniform(0, 1000), 2)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- building conversations ----------------------------------------------------------------------
_RUNNER: asyncio.Runner | None = None


def _run(coro: Any) -> Any:
    """Run a coroutine on one private event loop, made on first use and closed at exit."""
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = asyncio.Runner()
        atexit.register(_RUNNER.close)
    return _RUNNER.run(coro)


def call_tool(toolset: Toolset, name: str, arguments: dict[str, Any]) -> str:
    """Really run the tool (async ones on a private event loop) and return the text the model reads."""
    t = next(t for t in toolset.tools if t.name == name)
    kwargs = t.validate(arguments)
    value = t.fn(**kwargs)
    if asyncio.iscoroutine(value):
        value = _run(value)
    return t.result_to_text(value)


@dataclass
class _Turn:
    prompt: str
    tool: str | None
    arguments: dict[str, Any]
    answer_slots: dict[str, str]
    seen: bool
    kind: str
    direct_answer: str = ""


def _add_phrase(prompt: str, phrase: str) -> str:
    """``prompt`` with ``phrase`` (" in Celsius") before its closing "?" or ".", or at its end."""
    return prompt[:-1] + phrase + prompt[-1] if prompt[-1] in "?." else prompt + phrase


def _weather_turn(rng: random.Random, split: Split, entities: str, variant: int = 1) -> _Turn:
    if variant == 2 and split == "train":
        return _weather_turn_v2(rng)
    if entities == "seen":
        city, seen = rng.choice(CITIES_TRAIN), True
    elif entities == "unseen":
        city, seen = rng.choice(CITIES_UNSEEN), False
    else:  # training mix: real training cities and made-up names
        city, seen = (made_up_name(rng) if rng.random() < 0.5 else rng.choice(CITIES_TRAIN)), True
    template = rng.choice(_WEATHER[split])
    args: dict[str, Any] = {"city": city}
    prompt = template.format(city=city)
    if rng.random() < 0.4:
        unit = rng.choice(("C", "F"))
        args["unit"] = unit
        phrase = rng.choice(_UNIT_PHRASES[split][unit])
        prompt = _add_phrase(prompt, phrase)
    return _Turn(prompt, "get_weather", args, {}, seen, "weather")


def _weather_turn_v2(rng: random.Random) -> _Turn:
    city = made_up_name(rng) if rng.random() < 0.5 else rng.choice(CITIES_TRAIN)
    template = rng.choice(_WEATHER["train"] + _WEATHER_V2)
    prompt = template.format(city=city)
    args: dict[str, Any] = {"city": city}
    if rng.random() < 0.25 and "{city}?" in template:
        prompt = prompt.replace(city + "?", city + rng.choice(_AFTER_CITY_V2) + "?")
    if rng.random() < 0.4:
        unit = rng.choice(("C", "F"))
        args["unit"] = unit
        phrase = rng.choice(_UNIT_PHRASES["train"][unit] + _UNIT_PHRASES_V2[unit])
        prompt = _add_phrase(prompt, phrase)
    return _Turn(prompt, "get_weather", args, {}, True, "weather")


def _convert_turn(rng: random.Random, split: Split) -> _Turn:
    from_unit = rng.choice(("km", "mi"))
    to_unit = "mi" if from_unit == "km" else "km"
    v = _number(rng)
    words = _UNIT_WORDS[split]
    prompt = rng.choice(_CONVERT[split]).format(
        v=_fmt(v), from_word=rng.choice(words[from_unit]), to_word=rng.choice(words[to_unit])
    )
    args = {"value": v, "from_unit": from_unit, "to_unit": to_unit}
    return _Turn(
        prompt, "convert_length", args, {"v": _fmt(v), "f": from_unit, "t": to_unit}, True, "convert"
    )


def _arith_turn(rng: random.Random, split: Split, name: str) -> _Turn:
    a, b = _number(rng), _number(rng)
    templates = _ADD if name == "add" else _MULTIPLY
    prompt = rng.choice(templates[split]).format(a=_fmt(a), b=_fmt(b))
    return _Turn(prompt, name, {"a": a, "b": b}, {"a": _fmt(a), "b": _fmt(b)}, True, name)


def _save_turn(rng: random.Random, split: Split, entities: str, variant: int = 1) -> _Turn:
    if variant == 2 and split == "train":
        roll = rng.random()
        text = random_note_text(rng) if roll < 0.25 else note_text_v2(rng) if roll < 0.6 else note_text(rng)
        prompt = rng.choice(_SAVE["train"] + _SAVE_V2).format(text=text)
        return _Turn(prompt, "save_note", {"text": text}, {}, True, "save_note")
    if entities == "unseen":
        text, seen = note_text(rng, seen=False), False
    elif entities == "seen":
        text, seen = note_text(rng), True
    else:
        text, seen = (random_note_text(rng) if rng.random() < 0.4 else note_text(rng)), True
    prompt = rng.choice(_SAVE[split]).format(text=text)
    return _Turn(prompt, "save_note", {"text": text}, {}, seen, "save_note")


def _chat_turn(rng: random.Random, split: Split, toolset: Toolset) -> _Turn:
    if rng.random() < 0.25:
        return _Turn(
            rng.choice(_ABILITY_QUESTIONS[split]), None, {}, {}, True, "chat", _ABILITIES[toolset.name]
        )
    prompt, answer = rng.choice(_CHAT[split])
    return _Turn(prompt, None, {}, {}, True, "chat", answer)


def _no_tool_turn(rng: random.Random, split: Split) -> _Turn:
    """A tool request in a conversation without tools: the model must say it cannot, not call."""
    turn = _weather_turn(rng, split, "mixed" if split == "train" else "seen")
    return _Turn(
        turn.prompt, None, {}, {}, True, "no_tool", "Sorry, I have no tool for that in this conversation."
    )


def _turn(rng: random.Random, toolset: Toolset, split: Split, entities: str, variant: int = 1) -> _Turn:
    roll = rng.random()
    if toolset.name == "none":
        return _no_tool_turn(rng, split) if roll < 0.3 else _chat_turn(rng, split, toolset)
    if roll < 0.2:
        return _chat_turn(rng, split, toolset)
    if toolset.name == "weather":
        return _weather_turn(rng, split, entities, variant) if roll < 0.75 else _convert_turn(rng, split)
    if roll < 0.4:
        return _arith_turn(rng, split, "add")
    if roll < 0.6:
        return _arith_turn(rng, split, "multiply")
    if roll < 0.88:
        return _save_turn(rng, split, entities, variant)
    return _Turn(rng.choice(_LIST[split]), "list_notes", {}, {}, True, "list_notes")


# Variant 3 (stage 4 only): wide, generated diversity, so the model keys on content words and copies
# whatever follows them instead of matching memorised templates. Every list below is disjoint from
# the held-out ("eval") templates, prefixes, unit phrases and entities (``check_disjoint`` asserts it).
_FILLERS_V3 = ("So, ", "Well, ", "Right, ", "Um, ", "Now, ", "Also, ", "And ", "Yo, ", "Listen, ", "Hmm, ")


def _prefix_v3(rng: random.Random) -> str:
    """A lead-in that carries no request: a filler, a made-up name or interjection, or nothing."""
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(_PREFIX["train"])
    if roll < 0.8:
        return rng.choice(_FILLERS_V3)
    word = made_up_name(rng).split()[0]
    return rng.choice((f"{word}, ", f"{word}! ", f"Hey {word}, ", f"{word}. "))


_GREET_V3 = ("Hello", "Hi", "Hey", "Good morning", "Good afternoon", "Good night", "Greetings", "Howdy", "Yo")
_GREET_TO_V3 = ("", "", "", " friend", " buddy", " you", " bot", " again", " everyone")
_SMALL_TALK_V3: tuple[tuple[str, str], ...] = (
    ("Thanks.", "You're welcome!"),
    ("Thank you!", "You're welcome!"),
    ("Thanks so much!", "You're welcome! Anything else?"),
    ("Cheers.", "You're welcome!"),
    ("Great, thanks.", "Glad to help!"),
    ("Ok.", "Glad to help!"),
    ("Cool.", "Glad to help!"),
    ("Perfect.", "Glad to help!"),
    ("Good job.", "Thank you!"),
    ("See you later.", "Goodbye! Have a nice day."),
    ("Goodbye.", "Goodbye! Have a nice day."),
    ("Good night!", "Good night! Sleep well."),
    ("Who made you?", "I am hermitcrab's tiny demo model, a small assistant that can use tools."),
    ("What are you?", "I am a very small language model. I can use tools to help you."),
    ("Introduce yourself.", "I am hermitcrab's tiny demo model, a small assistant that can use tools."),
    ("Are you there?", "Yes! How can I help?"),
    ("I am bored.", "I can help with my tools if you like."),
    ("I like cats.", "Cats are great!"),
    ("What day is it?", "Sorry, I have no tool for that."),
    ("Sing a song.", "Sorry, I can only chat and use my tools."),
)
_ABILITY_QUESTIONS_V3 = (
    "What can you do?",
    "What are your tools?",
    "How can you help me?",
    "What do you do?",
    "Which tools do you have?",
    "What can you help with?",
    "Help!",
    "What are your skills?",
    "What tools can you use?",
)


def _chat_turn_v3(rng: random.Random, toolset: Toolset) -> _Turn:
    roll = rng.random()
    if roll < 0.2:
        return _Turn(rng.choice(_ABILITY_QUESTIONS_V3), None, {}, {}, True, "chat", _ABILITIES[toolset.name])
    if roll < 0.55:
        greeting = rng.choice(_GREET_V3) + rng.choice((*_GREET_TO_V3, " " + made_up_name(rng)))
        greeting += rng.choice(("!", ".", "", "!!"))
        if greeting.startswith("Good"):
            answer = greeting.split(" ")[0] + " " + greeting.split(" ")[1].rstrip("!.") + "! How can I help?"
        else:
            answer = rng.choice(("Hello! How can I help you today?", "Hi! What can I do for you?"))
        return _Turn(greeting, None, {}, {}, True, "chat", answer)
    if roll < 0.85:
        prompt, answer = rng.choice(_SMALL_TALK_V3 + _CHAT["train"])
        return _Turn(prompt, None, {}, {}, True, "chat", answer)
    return _chat_turn(rng, "train", toolset)


_WEATHER_V3 = (
    "Should I wear shorts in {city}?",
    "Do I need sunscreen in {city}?",
    "Is it foggy in {city}?",
    "Is it cloudy over {city}?",
    "Are there storms in {city}?",
    "Is it freezing in {city}?",
    "How is the sky in {city}?",
    "Can I go for a walk in {city}?",
    "Do I need boots in {city} today?",
    "Forecast {city}",
    "{city}: weather?",
    "Weather check for {city}.",
    "Get the weather in {city}.",
    "Show me the weather in {city}.",
    "My friend lives in {city}. How is the weather there?",
    "Flying to {city} soon, what's the weather?",
)
_CONVERT_V3 = (
    "Give me {v} {from_word} in {to_word}.",
    "{v} {from_word} equals how many {to_word}?",
    "Switch {v} {from_word} to {to_word}.",
    "Translate {v} {from_word} to {to_word}.",
    "Work out {v} {from_word} in {to_word}.",
    "{v} {from_word} to {to_word}, please.",
    "Find {v} {from_word} in {to_word}.",
    "My run was {v} {from_word}; in {to_word}?",
)
_ADD_V3 = (
    "{a} plus {b}?",
    "{a} + {b} = ?",
    "Work out {a} plus {b}.",
    "Find {a} + {b}.",
    "Figure out {a} plus {b}.",
    "Add up {a} and {b}, please.",
    "Total of {a} and {b}?",
    "I need {a} plus {b}.",
    "Quick math: {a} + {b}",
    "Plus: {a} and {b}",
    "Take {a} and add {b}.",
)
_MULTIPLY_V3 = (
    "{a} times {b}?",
    "{a} x {b} = ?",
    "{a} x {b}",
    "Work out {a} times {b}.",
    "Find {a} * {b}.",
    "Figure out {a} times {b}.",
    "Times {a} by {b}.",
    "I need {a} times {b}.",
    "Quick math: {a} * {b}",
    "Product of {a} and {b}?",
    "Take {a} and multiply it by {b}.",
)
_LIST_V3 = (
    "Do I have any notes?",
    "Read my notes back to me.",
    "What have I saved?",
    "My notes, please.",
    "Show all my notes.",
    "Open my notes.",
    "Can I see my notes?",
    "What's on my list?",
    "List everything I saved.",
    "Which notes are there?",
    "Print my notes.",
    "Display my notes.",
    "What did I ask you to remember?",
    "notes?",
    "Show notes",
)
_SAVE_VERBS_V3 = ("Write", "Put", "Add", "Save", "Store", "Keep", "Log", "Record", "Remember", "Note")
_SAVE_OBJECTS_V3 = ("this", "that", "it", "the following", "a note", "something")
_SAVE_WHERE_V3 = ("", "", " down", " in my notes", " for me", " for later", " to my notes")
_SAVE_NOUNS_V3 = ("Note", "Memo", "Reminder", "To-do", "Todo", "Task", "New note", "Note to self")


def _save_prompt_v3(rng: random.Random, text: str) -> str:
    """A save request: a known template, or a generated lead-in ("Store this for later:", "Memo:")."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_SAVE["train"] + _SAVE_V2).format(text=text)
    if roll < 0.7:
        lead = rng.choice(_SAVE_VERBS_V3) + " " + rng.choice(_SAVE_OBJECTS_V3) + rng.choice(_SAVE_WHERE_V3)
        if rng.random() < 0.3:
            lead = rng.choice(("Please ", "Can you ")) + lead[0].lower() + lead[1:]
    else:
        lead = rng.choice(_SAVE_NOUNS_V3) + rng.choice(("", "", " for me", " please"))
    return f"{lead}: {text}"


def note_text_v3(rng: random.Random) -> str:
    """A note whose first word is often new: made-up verbs and objects in real note shapes."""
    roll = rng.random()
    if roll < 0.3:
        return random_note_text(rng)
    if roll < 0.7:
        verb = made_up_name(rng).lower() if rng.random() < 0.6 else rng.choice(_NOTE_VERBS + _NOTE_VERBS_V2)
        obj = rng.choice(("the ", "a ", "my ", "")) + made_up_name(rng).lower()
        when = rng.choice((*_NOTE_TIMES, f"at {rng.randint(1, 12)}", f"on {made_up_name(rng)}"))
        if _V5_EXTRAS and rng.random() < 0.35:
            when = f"{rng.choice(_TIME_WORDS_V5)} {made_up_name(rng).lower()}"
        return " ".join(p for p in (verb, obj, when) if p)
    return note_text_v2(rng) if roll < 0.85 else note_text(rng)


# Variant 5: a city followed by any words before its unit or the end ("Oslo reporting Celsius",
# "Oslo around midday?"), and note times made of a time word and a made-up word ("before the
# strouck"). None of these words or phrases is held out ("using" and "holidays" are not among them).
_CONNECT_V5 = (
    "in", "with", "as", "via", "by", "showing", "giving", "reporting", "measured in", "expressed in",
    "converted to", "displayed in", "written in", "in terms of", "shown in", "given in", "and show it in",
    "please in", "for me in", "and answer in",
)  # fmt: skip
_UNIT_WORDS_V5 = {"C": ("Celsius", "C", "degrees C", "centigrade"), "F": ("Fahrenheit", "F", "degrees F")}
_AFTER_V5 = (
    "now", "tomorrow morning", "this week", "later", "tonight", "this morning", "for me", "right away",
    "soon", "again", "at noon", "at night", "next weekend", "for the weekend", "during lunch",
    "on Saturday", "around midday", "as well", "if you can", "for my mother", "exactly", "quickly",
)  # fmt: skip
_TIME_WORDS_V5 = (
    "before the",
    "after the",
    "during the",
    "for the",
    "until the",
    "on the",
    "at the",
    "by the",
)


def _weather_turn_v5(rng: random.Random, turn: _Turn) -> _Turn:
    city = turn.arguments["city"]
    templates = [t for t in (*_WEATHER["train"], *_WEATHER_V2, *_WEATHER_V3) if t.endswith("{city}?")]
    head = rng.choice(templates).format(city=city)[:-1]
    words = []
    if rng.random() < 0.5:
        words.append(rng.choice(_AFTER_V5))
    if "unit" in turn.arguments:
        unit = turn.arguments["unit"]
        words.append(f"{rng.choice(_CONNECT_V5)} {rng.choice(_UNIT_WORDS_V5[unit])}")
    elif not words:
        words.append(rng.choice(_AFTER_V5))
    joiner = rng.choice((" ", ", ")) if len(words) == 1 or rng.random() < 0.5 else " "
    turn.prompt = head + joiner + " ".join(words) + rng.choice(("?", ".", ""))
    return turn


def _turn_v3(rng: random.Random, toolset: Toolset) -> _Turn:
    roll = rng.random()
    if toolset.name == "none":
        if roll < 0.3:
            return _no_tool_turn(rng, "train")
        return _chat_turn_v3(rng, toolset)
    if roll < 0.25:
        return _chat_turn_v3(rng, toolset)
    if toolset.name == "weather":
        if roll < 0.72:
            turn = _weather_turn_v2(rng)
            if _V5_EXTRAS and rng.random() < 0.35:
                return _weather_turn_v5(rng, turn)
            if rng.random() < 0.35:
                template = rng.choice(_WEATHER_V3)
                turn.prompt = template.format(city=turn.arguments["city"])
                if "unit" in turn.arguments:
                    phrase = rng.choice(_UNIT_PHRASES["train"][turn.arguments["unit"]])
                    turn.prompt = _add_phrase(turn.prompt, phrase)
            return turn
        turn = _convert_turn(rng, "train")
        if rng.random() < 0.4:
            words = _UNIT_WORDS["train"]
            v, f, t = turn.arguments["value"], turn.arguments["from_unit"], turn.arguments["to_unit"]
            turn.prompt = rng.choice(_CONVERT_V3).format(
                v=_fmt(v), from_word=rng.choice(words[f]), to_word=rng.choice(words[t])
            )
        return turn
    if roll < 0.6:
        name = "add" if rng.random() < 0.5 else "multiply"
        turn = _arith_turn(rng, "train", name)
        if rng.random() < 0.45:
            a, b = turn.answer_slots["a"], turn.answer_slots["b"]
            turn.prompt = rng.choice(_ADD_V3 if name == "add" else _MULTIPLY_V3).format(a=a, b=b)
        return turn
    if roll < 0.75:
        text = note_text_v3(rng)
        return _Turn(_save_prompt_v3(rng, text), "save_note", {"text": text}, {}, True, "save_note")
    if roll < 0.85:
        return _save_turn(rng, "train", "mixed", 2)
    prompt = rng.choice(_LIST["train"] + _LIST_V3)
    return _Turn(prompt, "list_notes", {}, {}, True, "list_notes")


def _messages_for(
    rng: random.Random, toolset: Toolset, turn: _Turn, prefix: str, split: Split
) -> list[Message]:
    user = Message.user(prefix + turn.prompt)
    if turn.tool is None:
        return [user, Message.assistant(turn.direct_answer)]
    if turn.tool == "save_note":
        calculator_bot.NOTES[:] = [note_text(rng) for _ in range(rng.randint(0, 3))]
    elif turn.tool == "list_notes":
        calculator_bot.NOTES[:] = [
            (note_text(rng) if rng.random() < 0.7 else random_note_text(rng))
            for _ in range(rng.randint(0, 3))
        ]
    result = call_tool(toolset, turn.tool, turn.arguments)
    call = ToolCall(id=f"call_{rng.randrange(10**6)}", name=turn.tool, arguments=turn.arguments)
    preamble = rng.choice(_PREAMBLES) if split == "train" else ""
    answer = rng.choice(_ANSWERS[turn.tool]).format(r=result.rstrip("."), **turn.answer_slots)
    return [
        user,
        Message.assistant(preamble, tool_calls=[call]),
        Message.tool_result(call, result),
        Message.assistant(answer),
    ]


@contextmanager
def _extras(variant: int) -> Iterator[None]:
    """Switch on the made-up-word and phrase extras of ``variant`` (4-8) for one sample only."""
    global _WIDE_NAMES, _V5_EXTRAS, _PIECE_NAMES, _MULTI_NAMES
    _WIDE_NAMES, _V5_EXTRAS, _PIECE_NAMES, _MULTI_NAMES = (
        variant >= 4,
        variant >= 5,
        variant >= 6,
        variant >= 8,
    )
    if variant >= 8:
        user_words().WIDER = True
    try:
        yield
    finally:
        _WIDE_NAMES = _V5_EXTRAS = _PIECE_NAMES = _MULTI_NAMES = False
        if variant >= 8:
            user_words().WIDER = False


def generate(
    rng: random.Random, *, split: Split = "train", entities: str = "mixed", variant: int = 1
) -> Sample:
    """One conversation: mostly one round, sometimes two (the REPL's case: a question after an answer).

    ``variant=2`` (stage 3) adds training phrasings, words after the city and made-up words inside
    note sentences; ``variant=3`` (stage 4) adds generated lead-ins, greetings, small talk, note
    requests, number-first arithmetic and more list/weather/convert phrasings; ``variant=4`` is
    variant 3 with half of the made-up words English-like (``wide_word``); ``variant=5`` adds any
    words between a city and its unit and made-up time phrases in notes; ``variant=6`` makes
    half of the made-up words from vocabulary pieces (``piece_word``); ``variant=1`` is the
    stream stages 1 and 2 were trained on, unchanged; ``variant=7`` is variant 6 where 55 % of the
    requests are in users' own words (``user_words.py``: sentence shapes, cities, units, numbers,
    notes, and questions no tool answers); ``variant=8`` is variant 7 widened where run 1 of issue 18
    missed on the hand-written development set (``user_words.WIDER``: more names of several words,
    number words and long numbers; a city as the subject, "any rain in ..."; lead-ins with "in")."""
    with _extras(variant):
        return _generate(rng, split, entities, variant)


def _generate(rng: random.Random, split: Split, entities: str, variant: int) -> Sample:
    toolset = rng.choices(list(TOOLSETS.values()), weights=(0.46, 0.46, 0.08))[0]
    messages: list[Message] = []
    if toolset.system is not None:
        messages.append(Message.system(toolset.system))
    if split == "train" and rng.random() < 0.12:
        if variant >= 7 and rng.random() < 0.55:
            earlier = user_words().turn_v7(rng, toolset)
        else:
            earlier = (
                _turn_v3(rng, toolset) if variant >= 3 else _turn(rng, toolset, split, entities, variant)
            )
        messages += _messages_for(rng, toolset, earlier, rng.choice(_PREFIX[split]), split)
    if variant >= 7 and split == "train" and rng.random() < 0.55:
        turn = user_words().turn_v7(rng, toolset)
        prefix = _prefix_v3(rng) if rng.random() < 0.3 else ""
        if prefix + turn.prompt in user_words().kept_out():
            prefix = ""
    elif variant >= 3 and split == "train":
        turn, prefix = _turn_v3(rng, toolset), _prefix_v3(rng)
    else:
        turn, prefix = _turn(rng, toolset, split, entities, variant), rng.choice(_PREFIX[split])
    messages += _messages_for(rng, toolset, turn, prefix, split)
    return Sample(toolset, messages, prefix + turn.prompt, turn.tool, turn.arguments, turn.seen, turn.kind)


def copy_sample(rng: random.Random) -> Sample:
    """A pure copy exercise ("Repeat after me: ...") that teaches the model to attend and copy."""
    n = rng.randint(1, 6)
    words = [made_up_name(rng) if rng.random() < 0.5 else rng.choice(CITIES_TRAIN) for _ in range(n)]
    if rng.random() < 0.5:
        words = [w.lower() for w in words]
    text = " ".join(words)
    prompt = f"{rng.choice(('Repeat after me:', 'Say', 'Copy this:', 'Echo'))} {text}"
    toolset = TOOLSETS["none"]
    messages = [Message.system(toolset.system or ""), Message.user(prompt), Message.assistant(text)]
    return Sample(toolset, messages, prompt, None, {}, True, "copy")


def _prompt_sample(toolset: Toolset, turn: _Turn, prefix: str) -> Sample:
    """One evaluation prompt: the bot's system prompt and ``prefix + turn.prompt``, unanswered."""
    prompt = prefix + turn.prompt
    messages = [Message.system(toolset.system)] if toolset.system else []
    messages.append(Message.user(prompt))
    return Sample(toolset, messages, prompt, turn.tool, turn.arguments, turn.seen, turn.kind)


def eval_prompts(seed: int = 1234, per_kind: int = 40) -> list[Sample]:
    """The held-out evaluation set: unseen phrasings; weather and notes with seen and unseen entities."""
    rng = random.Random(seed)
    weather, calculator, none = TOOLSETS["weather"], TOOLSETS["calculator"], TOOLSETS["none"]
    out: list[Sample] = []

    def add(toolset: Toolset, make: Callable[[], _Turn]) -> None:
        turn = make()
        out.append(_prompt_sample(toolset, turn, rng.choice(_PREFIX["eval"])))

    for _ in range(per_kind):
        add(weather, lambda: _weather_turn(rng, "eval", "seen"))
        add(weather, lambda: _weather_turn(rng, "eval", "unseen"))
        add(calculator, lambda: _save_turn(rng, "eval", "seen"))
        add(calculator, lambda: _save_turn(rng, "eval", "unseen"))
    for _ in range(per_kind // 2):
        add(weather, lambda: _convert_turn(rng, "eval"))
        add(calculator, lambda: _arith_turn(rng, "eval", "add"))
        add(calculator, lambda: _arith_turn(rng, "eval", "multiply"))
        add(calculator, lambda: _Turn(rng.choice(_LIST["eval"]), "list_notes", {}, {}, True, "list_notes"))
        add(rng.choice((weather, calculator)), lambda: _chat_turn(rng, "eval", weather))
        add(none, lambda: _no_tool_turn(rng, "eval"))
    return out


# -- the development set -------------------------------------------------------------------------
# Chosen between training runs on these; the held-out set above only reports. Its phrasings and
# entities are in neither training nor the held-out set (``check_disjoint`` checks the prompts,
# ``test_demo_data`` the words), and they were written before the runs they choose between.
_DEV_PREFIX = ("", "", "Hello there, ", "Um, ", "Quick one: ")
_DEV_WEATHER = (
    "Can you tell me the forecast for {city}?",
    "How is the weather over in {city}?",
    "Find the weather in {city}.",
    "Weather report for {city}, please.",
    "Fetch the current weather for {city}.",
    "I'm heading to {city}. How's it looking?",
)
_DEV_UNIT_PHRASES = {
    "C": (" on the Celsius scale", " with the temperature in Celsius"),
    "F": (" on the Fahrenheit scale", " with the temperature in Fahrenheit"),
}
_DEV_SAVE = ("Remind me to {text}", "Keep track of this: {text}", "Store a reminder: {text}")
DEV_CITIES = tuple(
    c.replace("_", " ")
    for c in """\
Rennes Bari Cadiz Linz Aachen Tromso Vigo Limerick Swansea Plymouth Norwich Dijon Avignon Ravenna
Pisa Parma Kobe Nara Hakodate Ulsan Tainan Hilo Fairbanks Juneau Reno Eugene Duluth Boulder Santa_Fe
Green_Bay Des_Moines Little_Rock Salta Arica Iquitos Maceio Bulawayo Entebbe Nakuru Kano Sfax Agadir
Essaouira Aswan Tabriz Mashhad Multan Sylhet Madurai Kochi Nagpur Lucknow Varanasi Ipoh Kuching Bandung
""".split()  # noqa: SIM905
)
_DEV_NOTE_VERBS = ("polish", "fold", "tidy", "sharpen", "defrost", "rinse", "dust", "mend")
_DEV_NOTE_OBJECTS = (
    "the garage",
    "my jacket",
    "the knives",
    "the freezer",
    "a thank-you card",
    "the curtains",
    "my sunglasses",
    "the blender",
    "the doormat",
    "the spare key",
    "my umbrella",
    "the bookshelf",
)
_DEV_NOTE_TIMES = (
    "",
    "",
    "on Saturday evening",
    "in the afternoon",
    "before midnight",
    "at quarter to eight",
)


def dev_prompts(seed: int = 99, per_kind: int = 40) -> list[Sample]:
    """The development set: new phrasings, and cities and note words of their own ("unseen"), or
    training ones ("seen"). Only weather and note requests: the arguments a model must copy."""
    rng = random.Random(seed)
    weather, calculator = TOOLSETS["weather"], TOOLSETS["calculator"]
    out: list[Sample] = []

    def add(toolset: Toolset, turn: _Turn) -> None:
        out.append(_prompt_sample(toolset, turn, rng.choice(_DEV_PREFIX)))

    for _ in range(per_kind):
        for seen in (True, False):
            city = rng.choice(CITIES_TRAIN if seen else DEV_CITIES)
            prompt, args = rng.choice(_DEV_WEATHER).format(city=city), {"city": city}
            if rng.random() < 0.4:
                args["unit"] = rng.choice(("C", "F"))
                prompt = _add_phrase(prompt, rng.choice(_DEV_UNIT_PHRASES[args["unit"]]))
            add(weather, _Turn(prompt, "get_weather", args, {}, seen, "weather"))
        for seen in (True, False):
            if seen:
                text = note_text(rng)
            else:
                parts = (
                    rng.choice(_DEV_NOTE_VERBS),
                    rng.choice(_DEV_NOTE_OBJECTS),
                    rng.choice(_DEV_NOTE_TIMES),
                )
                text = " ".join(p for p in parts if p)
            prompt = rng.choice(_DEV_SAVE).format(text=text)
            add(calculator, _Turn(prompt, "save_note", {"text": text}, {}, seen, "save_note"))
    return out


# -- the hand-written sets -----------------------------------------------------------------------
# Written by hand, in users' words, before the runs they judge (issue 18): prompts/README.md says how,
# and the rule that chose between runs on prompts/dev.jsonl. prompts/test.jsonl only reports.
HAND_SETS = {"handdev": "dev.jsonl", "handtest": "test.jsonl"}
_PROMPTS = Path(__file__).resolve().parent / "prompts"
_KINDS = {
    "get_weather": "weather",
    "convert_length": "convert",
    "add": "add",
    "multiply": "multiply",
    "save_note": "save_note",
    "list_notes": "list_notes",
}


def hand_prompts(name: str = "handdev") -> list[Sample]:
    """A hand-written prompt set (``"handdev"`` or ``"handtest"``) as evaluation samples. A city counts as
    seen when it is in ``CITIES_TRAIN``; a prompt that needs no tool has the kind ``no_tool:<why>``."""
    out = []
    for line in (_PROMPTS / HAND_SETS[name]).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        toolset, tool, args = TOOLSETS[row["bot"]], row["tool"], row["args"]
        kind = _KINDS[tool] if tool else f"no_tool:{row['kind']}"
        seen = tool != "get_weather" or args["city"].lower() in {c.lower() for c in CITIES_TRAIN}
        out.append(_prompt_sample(toolset, _Turn(row["prompt"], tool, args, {}, seen, kind), ""))
    return out


def copy_sample_v3(rng: random.Random) -> Sample:
    """Copy exercises over everything an argument can hold: words, numbers, note sentences."""
    roll = rng.random()
    if roll < 0.35:
        return copy_sample(rng)
    if roll < 0.7:
        count = rng.randint(1, 4)
        text = " ".join(_fmt(_number(rng)) if rng.random() < 0.7 else made_up_name(rng) for _ in range(count))
    else:
        text = note_text_v3(rng)
    lead = rng.choice(("Repeat after me:", "Say", "Copy this:", "Echo", "Repeat:", "Say back:", "Type"))
    prompt = f"{_prefix_v3(rng) if rng.random() < 0.3 else ''}{lead} {text}"
    toolset = TOOLSETS["none"]
    messages = [Message.system(toolset.system or ""), Message.user(prompt), Message.assistant(text)]
    return Sample(toolset, messages, prompt, None, {}, True, "copy")


def kept_out_prompts() -> set[str]:
    """Every prompt of the held-out set, the development set and the hand-written sets, also without
    its lead-in: what training must never contain."""
    kept_out = (*eval_prompts(), *dev_prompts(), *hand_prompts("handdev"), *hand_prompts("handtest"))
    held_out = {s.prompt for s in kept_out}
    for sample in kept_out:
        for prefix in (*_PREFIX["eval"], *_DEV_PREFIX):
            if prefix and sample.prompt.startswith(prefix):
                held_out.add(sample.prompt[len(prefix) :])
    return held_out


def check_disjoint(variant: int = 3, n: int = 20000, seed: int = 7) -> int:
    """Assert that no held-out or development prompt (with or without its lead-in), generated or
    hand-written, occurs as a training prompt in ``n`` conversations of ``variant``; returns the
    number of distinct training prompts seen."""
    held_out = kept_out_prompts()
    rng = random.Random(seed)
    seen: set[str] = set()
    for _ in range(n):
        sample = generate(rng, variant=variant)
        for m in sample.messages:
            if m.role == "user":
                seen.add(m.text)
    leaked = held_out & seen
    assert not leaked, f"held-out prompts in training data: {sorted(leaked)[:5]}"
    return len(seen)


def copy_sample_v7(rng: random.Random) -> Sample:
    """Copy exercises of variant 3, and of notes, cities and numbers as users write them."""
    if rng.random() < 0.6:
        return copy_sample_v3(rng)
    text = user_words().copy_text_v7(rng)
    lead = rng.choice(("Repeat after me:", "Say", "Copy this:", "Echo", "Repeat:", "Say back:", "Type"))
    prompt = f"{lead} {text}"
    toolset = TOOLSETS["none"]
    messages = [Message.system(toolset.system or ""), Message.user(prompt), Message.assistant(text)]
    return Sample(toolset, messages, prompt, None, {}, True, "copy")


def user_words() -> Any:
    """``user_words.py``, the material of variant 7 (imported late: it builds on this module)."""
    import user_words

    return user_words


def stream(seed: int, copy_fraction: float = 0.0, variant: int = 1) -> Iterator[Sample]:
    """An endless, seeded stream of training conversations (with ``copy_fraction`` copy exercises)."""
    rng = random.Random(seed)
    copy = copy_sample_v7 if variant >= 7 else copy_sample_v3 if variant >= 3 else copy_sample
    while True:
        if rng.random() < copy_fraction:
            with _extras(variant):
                sample = copy(rng)
            yield sample
        else:
            yield generate(rng, variant=variant)


# -- rendering -----------------------------------------------------------------------------------
def render_chatml(messages: list[Message], tool_block: str | None) -> tuple[str, list[tuple[int, int]]]:
    """The chat template's text for ``messages`` (a fast Python twin of the Jinja template, checked
    against it in ``train.py``) and the character spans of the assistant replies (what is trained).

    ``tool_block`` is the rendered tools section (header, schemas, footer) or ``None`` for no tools.
    """
    import json

    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0

    def emit(text: str) -> None:
        nonlocal pos
        parts.append(text)
        pos += len(text)

    msgs = list(messages)
    if tool_block is not None:
        emit("<|im_start|>system\n")
        if msgs and msgs[0].role == "system":
            emit(msgs[0].text + "\n\n")
        emit(tool_block + "<|im_end|>\n")
    elif msgs and msgs[0].role == "system":
        emit("<|im_start|>system\n" + msgs[0].text + "<|im_end|>\n")
    for i, m in enumerate(msgs):
        if m.role == "system" and i == 0:
            continue
        if m.role == "user" or (m.role == "assistant" and not m.tool_calls):
            if m.role == "assistant":
                emit("<|im_start|>assistant\n")
                start = pos
                emit(m.text + "<|im_end|>")
                spans.append((start, pos))
                emit("\n")
            else:
                emit(f"<|im_start|>{m.role}\n{m.text}<|im_end|>\n")
        elif m.role == "assistant":
            emit("<|im_start|>assistant")
            start = pos
            if m.text:
                emit("\n" + m.text)
            for c in m.tool_calls:
                args = json.dumps(c.arguments, ensure_ascii=False)
                emit(f'\n<tool_call>\n{{"name": "{c.name}", "arguments": {args}}}\n</tool_call>')
            emit("<|im_end|>")
            spans.append((start, pos))
            emit("\n")
        elif m.role == "tool":
            if i == 0 or msgs[i - 1].role != "tool":
                emit("<|im_start|>user")
            emit(f"\n<tool_response>\n{m.text}\n</tool_response>")
            if i == len(msgs) - 1 or msgs[i + 1].role != "tool":
                emit("<|im_end|>\n")
    return "".join(parts), spans
