"""Data variant 7: requests in users' own words (issue 18).

Variants 1-6 phrase each request in a few sentence shapes: a unit right after the city, a note after a
colon, numbers of at most four digits. Tried with prompts written by people, the model missed where
their sentences left those shapes. This module widens the shapes by composing sentences from parts
(a frame, a verb phrase, a place, a time, a tail), not by adding more fixed templates:

* **Cities** of two and three words ("Port Ilvane", "Meriva del Sol"), hyphenated, accented or
  lower-case, real and made up, and possessives ("Boston's weather").
* **Units** anywhere: before the question, inside it ("the temperature in F in Oslo"), after the city,
  after other words, in a sentence of their own; as ``°F``, ``F``, ``degrees Fahrenheit``, ``fahrenheit``.
* **Numbers** in users' forms: thousands separators, up to seven digits, a leading minus, decimals,
  number words ("thirty-five"), "double", "triple", "increase ... by", small word problems.
* **Notes** introduced every way: a colon, a dash, quotes, "that says", mid-sentence ("put X on my
  list"), "remind me to", "remember that"; with commas, apostrophes, times and digits inside.
* **Questions no tool answers**, with a short polite answer that says what the bot can do: general
  knowledge (often naming a city or a number), the other bot's tools, "what can you do?" in many
  words, small talk.
* Lead-ins, politeness, trailing clauses and typos around all of it.

The hand-written sets (``prompts/``) were written first; this grammar was written from the kinds of
misses issue 18 lists, not from their sentences, and ``data.check_disjoint`` rejects any prompt equal
to one of theirs (``kept_out`` below makes the generator draw again instead). No word here is a
held-out word of the generated sets (``tests/test_demo_data.py`` checks the lists).
"""

from __future__ import annotations

import functools
import random
import re
from typing import Any

import data
from data import _Turn

WIDER = False
"""Set while variant 8 is generated (``data._extras``): variant 7 widened where run 1 missed on the
hand-written development set: more names of several words, number words and long numbers, a city as
the subject ("how warm is Oslo?"), "any rain in ...", lead-ins holding "in", a sentence after the
question, stories around a conversion, the other bot's requests and closing remarks more often."""


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


# -- noise: typos and lower case in the words around the slots -----------------------------------
_SLOT = re.compile(r"\{(\w+)\}")


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip in ``word``: a letter dropped, doubled or swapped, or an apostrophe lost."""
    if "'" in word and rng.random() < 0.5:
        return word.replace("'", "")
    i = rng.randrange(1, len(word) - 1)
    roll = rng.random()
    if roll < 0.4:
        return word[:i] + word[i + 1 :]
    if roll < 0.7:
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def fill(rng: random.Random, template: str, **slots: str) -> str:
    """``template`` with its slots filled. The words around the slots (never the slots: they are what
    the call copies) sometimes carry typos or are lower-cased, and the final mark is sometimes dropped."""
    rate = 0.0 if rng.random() < 0.75 else 0.12
    lower = rng.random() < 0.12
    parts = _SLOT.split(template)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(slots[part])
            continue
        words = [
            _typo(rng, w) if len(w) >= 4 and w.isalpha() and rng.random() < rate else w
            for w in part.split(" ")
        ]
        text = " ".join(words)
        out.append(text.lower() if lower else text)
    text = "".join(out)
    if text[:1].islower() and not template.startswith("{") and rng.random() < 0.6:
        text = text[0].upper() + text[1:]
    if text and text[-1] in ".?!" and rng.random() < 0.12:
        text = text[:-1]
    return text


# -- lead-ins and trailing clauses -----------------------------------------------------------------
_GREETINGS = ("Hey", "Hi", "Hello", "Heya", "Yo", "Greetings", "Good day", "Hey bot", "Hi assistant", "Howdy")
_LEAD_WORDS = (
    "so", "ok", "alright", "right", "also", "oh and", "and", "btw", "anyway", "next", "now", "question",
    "one thing", "real quick", "if possible", "when you have a sec",
)  # fmt: skip
_TAILS = (
    " Thanks!", " Thank you.", " thx", " Thanks a lot!", " Cheers.", " Much appreciated.", " Ta.",
    " Appreciate it.", " :)", " :-)", " Thank you kindly.", " Many thanks.",
)  # fmt: skip


_LEADS_V8 = (
    "Thanks in advance!", "Sorry in advance,", "In a hurry:", "Checking in:", "Just logged in.", "In short:",
    "Quick one in between:", "{n} here.", "{n} asked me this:", "It's {n} again.", "Hi, {n} from the office.",
    "Thanks in advance for this.", "In any case,", "Back again in five:", "One thing in particular:",
)  # fmt: skip
_AFTERWORDS_V8 = (
    " Planning a walk.", " Going out soon.", " Need to pick an outfit.", " Heading out in an hour.",
    " It looked grey earlier.", " Thinking of cycling.", " We have a picnic planned.", " Just curious.",
    " I have a flight later.", " My kids want to play outside.", " Deciding on shoes.",
)  # fmt: skip


def _wrap(rng: random.Random, prompt: str) -> str:
    """A greeting or lead word before ``prompt`` and a thank-you after it, sometimes."""
    roll = rng.random()
    if WIDER and roll < 0.08:
        lead = rng.choice(_LEADS_V8).format(n=rng.choice(_NAMES))
        return f"{lead} {prompt}"
    if roll < 0.15:
        prompt = f"{rng.choice(_GREETINGS)}{_pick(rng, '! ', ', ', '. ', ' ')}{prompt}"
    elif roll < 0.27:
        word = rng.choice(_LEAD_WORDS)
        word = word[0].upper() + word[1:] if rng.random() < 0.5 else word
        prompt = f"{word}{_pick(rng, ', ', ': ', ' ')}{prompt}"
    if rng.random() < 0.1:
        prompt = prompt + ("" if prompt[-1] in ".?!)" else _pick(rng, "?", ".")) + rng.choice(_TAILS)
    return prompt


# -- cities ------------------------------------------------------------------------------------------
_PLACE_HEADS = (
    "Port", "San", "Saint", "St.", "New", "North", "South", "East", "West", "Fort", "Lake",
    "Mount", "Cape", "Upper", "Lower", "El", "La", "Las", "Los", "Le", "Bad", "Ban", "Al", "Puerto", "Villa",
)  # fmt: skip
_PLACE_TAILS = (
    "City", "Town", "Springs", "Beach", "Falls", "Harbor", "Heights", "Island", "Valley", "Hills",
    "Park", "Junction", "Creek", "Point", "Crossing", "Ridge", "Landing", "Mills", "Grove",
)  # fmt: skip
_PLACE_LINKS = ("de", "del", "da", "do", "la", "le", "upon", "on", "en", "sur", "am", "im", "es", "of")
_ACCENTS = {"a": "áàâãå", "e": "éèêë", "i": "íî", "o": "óôöõø", "u": "úüû", "c": "ç", "n": "ñ"}
CITIES_V7 = (
    "San Antonio", "San Jose", "Saint Paul", "Fort Lauderdale", "Long Beach", "Palo Alto",
    "Oklahoma City", "Jersey City", "Atlantic City", "Carson City", "Quebec City", "Panama City",
    "Guatemala City", "Kuwait City", "Port Louis", "Port of Spain", "Porto Novo", "San Marino",
    "Santo Domingo", "San Salvador", "Saint John", "St. John's", "Red Deer", "Sault Ste. Marie",
    "Niagara Falls", "Idaho Falls", "Sioux Falls", "Great Falls", "Coral Gables", "Miami Beach",
    "West Palm Beach", "Lake Placid", "Mount Vernon", "New Delhi", "George Town", "Hai Phong",
    "Nha Trang", "Hat Yai", "Cox's Bazar", "Mar del Plata", "Punta Arenas", "Puerto Montt",
    "Vina del Mar", "Las Cruces", "Los Alamos", "La Serena", "Le Mans", "Le Havre",
    "La Rochelle", "Saint-Malo", "Clermont-Ferrand", "Boulogne-sur-Mer", "Baden-Baden", "Reggio Emilia",
    "La Spezia", "Santiago de Compostela", "Palma de Mallorca", "Ponta Delgada", "Newcastle upon Tyne",
    "Kingston upon Hull", "Milton Keynes", "St Albans", "King's Lynn", "Den Haag", "Den Helder",
    "Rostov-on-Don", "Ulan Ude", "Sharm el Sheikh", "Port Said", "Bobo-Dioulasso", "Cape Coast",
    "Port Harcourt", "Benin City", "East London", "Gold Coast", "Coffs Harbour", "Wagga Wagga",
    "Palmerston North", "Nuuk", "Tegucigalpa", "Mexicali", "Ostend", "Kristiansand",
    "Zwolle", "Arnhem", "Namur", "Lecce", "Ronda", "Evora", "Faro", "Braga", "Aveiro", "Mostar", "Ohrid",
    "Plovdiv", "Brasov", "Sibiu", "Kosice", "Olomouc", "Pecs", "Szeged", "Lulea", "Umea", "Visby",
    "Aalborg", "Esbjerg", "Vaasa", "Pori", "Jurmala", "Parnu", "Bordighera", "Ancona", "Rimini",
)  # fmt: skip
"""Real places of one to four words, none in any held-out or development list (a test checks)."""


def _place_word(rng: random.Random) -> str:
    word = data.made_up_name(rng).split()[-1]
    if rng.random() < 0.08:
        i = next((j for j, ch in enumerate(word) if ch in _ACCENTS), None)
        if i is not None:
            word = word[:i] + rng.choice(_ACCENTS[word[i]]) + word[i + 1 :]
    return word


def city_v7(rng: random.Random) -> str:
    """A city as users write it: a training city, a real one (often of several words), or a made-up one
    of one to three words (hyphenated, accented), sometimes in lower case."""
    roll = rng.random()
    if roll < 0.3:
        city = rng.choice(data.CITIES_TRAIN)
    elif roll < (0.47 if WIDER else 0.42):
        city = rng.choice(CITIES_V7)
    else:
        shape = rng.random()
        if WIDER:  # two thirds of the made-up cities of several words, a third two capitalised words
            shape = 0.0 if shape < 0.35 else 0.75 if shape < 0.6 else 0.45 + (shape - 0.6) / 0.4 * 0.55
        if shape < 0.45:
            city = _place_word(rng)
        elif shape < 0.6:
            city = f"{rng.choice(_PLACE_HEADS)} {_place_word(rng)}"
        elif shape < 0.72:
            city = f"{_place_word(rng)} {rng.choice(_PLACE_TAILS)}"
        elif shape < 0.82:
            city = f"{_place_word(rng)} {_place_word(rng)}"
        elif shape < 0.92:
            city = f"{_place_word(rng)} {rng.choice(_PLACE_LINKS)} {_place_word(rng)}"
        elif shape < 0.96:
            city = f"{_place_word(rng)}-{rng.choice(_PLACE_LINKS)}-{_place_word(rng)}"
        else:
            city = f"{_place_word(rng)}-{_place_word(rng)}"
    if rng.random() < 0.08:
        city = city.lower()
    return city


# -- weather ----------------------------------------------------------------------------------------
_CONDITIONS = (
    "raining", "sunny", "snowing", "cloudy", "hot", "cold", "warm", "windy", "foggy", "humid", "stormy",
    "freezing", "chilly", "nice", "clear", "wet", "dry", "grey", "muggy", "icy",
)  # fmt: skip
_TIMES = (
    "", "", "", "", " now", " right now", " today", " tonight", " at the moment", " currently", " this week",
    " tomorrow", " later today", " these days", " as we speak", " this weekend", " at present",
)  # fmt: skip
_WEATHER_NOUNS = ("the weather", "the temperature", "the conditions", "the current weather", "the forecast")
_PLACE_PREPS = ("in", "in", "in", "in", "over in", "up in", "down in", "out in", "around")
_UNIT_NAMES = {
    "F": ("Fahrenheit", "fahrenheit", "F", "°F", "degrees F", "degrees Fahrenheit", "deg F", "F degrees"),
    "C": ("Celsius", "celsius", "C", "°C", "degrees C", "degrees Celsius", "centigrade", "deg C"),
}


def _weather_question(rng: random.Random, place: str, unit: str) -> str:
    """A question or request about the weather at ``place`` ("in Oslo", "there"); ``unit`` (maybe
    empty) goes right after the weather noun: "the temperature in °F in Oslo"."""
    noun = rng.choice(_WEATHER_NOUNS)
    roll = rng.random()
    if roll < 0.3:
        cond = rng.choice(_CONDITIONS)
        if cond in ("raining", "snowing") and rng.random() < 0.4:
            verb = "rain" if cond == "raining" else "snow"
            return f"{_pick(rng, 'will it', 'is it going to')} {verb}{unit} {place}"
        verb = (
            "is it"
            if cond.endswith("ing")
            else _pick(rng, "is it", "will it be", "is it going to be", "is it getting")
        )
        return f"{verb} {cond}{unit} {place}"
    if roll < 0.55:
        head = _pick(rng, "what's", "what is", "how's", "how is", "whats")
        if head.startswith("how") and noun in ("the forecast", "the conditions"):
            head = "what are" if noun == "the conditions" else "what's"
        return f"{head} {noun}{unit} {place}" + ("" if rng.random() < 0.7 else _pick(rng, " like", " doing"))
    if roll < 0.65:
        adj = _pick(rng, "warm", "cold", "hot", "chilly")
        return f"how {adj} is it{unit} {place}"
    verb = _pick(
        rng, "tell me", "give me", "check", "look up", "get me", "show me", "find out", "pull up", "fetch"
    )
    return f"{verb} {noun}{unit} {place}"


def _frame(rng: random.Random, core: str) -> str:
    """``core`` ("tell me the weather in {city}") as a question, a request or a bare phrase."""
    question = core.split(" ")[0] in {"is", "will", "what's", "what", "how's", "how", "whats"}
    roll = rng.random()
    if question:
        if roll < 0.15:  # "Do you know if it's raining in Oslo?"
            first, rest = core.split(" ", 1)
            if first == "is":
                embedded = f"{_pick(rng, 'if', 'whether')} {rest.replace('it ', 'it is ', 1)}"
            elif first == "will":
                embedded = f"{_pick(rng, 'if', 'whether')} it will {rest.split(' ', 1)[1]}"
            else:
                embedded = (
                    core.replace("what's ", "what ", 1)
                    .replace("how's ", "how ", 1)
                    .replace("whats ", "what ", 1)
                )
            lead = _pick(rng, "can you tell me", "do you know", "I'd like to know", "I wonder", "tell me")
            return f"{lead} {embedded}{'?' if lead in ('can you tell me', 'do you know') else '.'}"
        return core + _pick(rng, "?", "?", "?", "", "??")
    if roll < 0.3:
        return f"{_pick(rng, 'Can you', 'Could you', 'Would you', 'Can u', 'Could you please')} {core}?"
    if roll < 0.55:
        return f"Please {core}{_pick(rng, '.', '', '!')}"
    if roll < 0.7:
        return f"{core}{_pick(rng, ', please.', ' please', ' for me.', ' for me please', ', thanks.')}"
    return core + _pick(rng, ".", "", "!")


def _weather_v7(rng: random.Random) -> _Turn:
    city = city_v7(rng)
    args: dict[str, Any] = {"city": city}
    unit = _pick(rng, "F", "F", "C") if rng.random() < 0.45 else ""
    if unit:
        args["unit"] = unit
    name = rng.choice(_UNIT_NAMES[unit]) if unit else ""
    where = rng.random() if unit else 1.0  # where the unit goes
    time = rng.choice(_TIMES)
    roll = rng.random()
    if WIDER and roll < 0.22:  # the city as the subject, or "any rain in ..."
        adj, cond = _pick(rng, "warm", "cold", "hot", "chilly", "humid", "windy"), rng.choice(_CONDITIONS)
        core = _pick(
            rng,
            f"how {adj} is {{city}}{time}?",
            f"is {{city}} {cond}{time}?",
            f"how's {{city}}{time}?",
            f"what's {{city}} like{time}?",
            f"what is it like in {{city}}{time}",
            f"any {_pick(rng, 'rain', 'snow', 'sun', 'wind', 'storms', 'fog')} in {{city}}{time}?",
            f"is there {_pick(rng, 'rain', 'snow', 'fog', 'sunshine', 'frost')} in {{city}}{time}?",
            f"{{city}} - {_pick(rng, 'is it raining', 'any rain', 'how warm is it', 'sunny or not')}?",
            f"how does {{city}} look{time}?",
        )
        if unit and where < 0.3:
            core = core.rstrip("?") + _pick(rng, f" in {name}?", f" ({name})?", f" in {name}")
            where = 1.0
        prompt = fill(rng, core, city=city)
        if rng.random() < 0.12:
            prompt += rng.choice(_AFTERWORDS_V8)
    elif roll < 0.2:  # the city first, or on its own
        noun = _pick(rng, "weather", "temperature", "forecast", "conditions")
        owner = f"{{city}}'s {noun}" if rng.random() < 0.4 else f"{{city}} {noun}"
        core = _pick(rng, owner, f"{noun} {{city}}", f"{noun} for {{city}}", f"{{city}} {noun} now")
        if unit and where < 0.4:
            core += _pick(rng, f" in {name}", f" {name}", f" ({name})")
            where = 1.0
        prompt = fill(rng, core + _pick(rng, "", "?", " please", ", please.", "."), city=city)
    elif roll < 0.32:  # a sentence about going there, then the question
        verb = _pick(
            rng,
            "I'm going to",
            "We're flying to",
            "I'm driving to",
            "I'm heading to",
            "My sister lives in",
            "My team is in",
            "I'm travelling to",
            "We're off to",
            "Tomorrow I'll be in",
            "A friend is visiting",
        )
        inside = f" in {name}" if unit and where < 0.3 else ""
        if inside:
            where = 1.0
        first = fill(rng, f"{verb} {{city}}{rng.choice(_TIMES)}", city=city)
        second = _frame(rng, _weather_question(rng, "there", inside))
        if rng.random() < 0.3:
            prompt = f"{first}, {second[0].lower()}{second[1:]}"
        else:
            prompt = f"{first}{_pick(rng, '. ', '! ')}{second[0].upper()}{second[1:]}"
    else:
        inside = f" in {name}" if unit and where < 0.25 else ""
        if inside:
            where = 1.0
        prep = rng.choice(_PLACE_PREPS)
        core = _weather_question(rng, f"{prep} {{city}}{time}", inside)
        prompt = fill(rng, _frame(rng, core), city=city)
    if WIDER and not unit and rng.random() < 0.08 and prompt[-1] in ".?!":
        prompt += rng.choice(_AFTERWORDS_V8)
    if unit and where < 1.0:
        if where < 0.55:  # before the question
            lead = _pick(
                rng,
                "In {u}, ",
                "{u} please. ",
                "Use {u}: ",
                "I'm used to {u}. ",
                "{u} only. ",
                "Answer in {u}: ",
                "In {u} please - ",
                "Units: {u}. ",
                "Please answer in {u}. ",
            )
            text = lead.format(u=name)
            prompt = text + (
                prompt[0].lower() + prompt[1:]
                if text.endswith((", ", "- ")) and prompt[:2] != "I "
                else prompt
            )
        elif where < 0.8:  # right after the place (before the final mark)
            phrase = _pick(
                rng,
                " in {u}",
                " in {u} please",
                " ({u})",
                " (in {u})",
                ", in {u}",
                " - {u}",
                " in {u}, thanks",
            )
            prompt = data._add_phrase(prompt, phrase.format(u=name))
        else:  # a sentence of its own at the end
            after = _pick(
                rng,
                " {u} please.",
                " Answer in {u}.",
                " I want it in {u}.",
                " Use {u}.",
                " In {u} if you can.",
                " (I use {u}.)",
                " Give me {u}.",
                " In {u}, not {o}.",
            )
            other = rng.choice(_UNIT_NAMES["C" if unit == "F" else "F"][:2])
            end = "" if prompt[-1] in ".?!)" else "?"
            prompt = prompt + end + after.format(u=name, o=other)
    return _Turn(_wrap(rng, prompt), "get_weather", args, {}, True, "weather")


# -- numbers ----------------------------------------------------------------------------------------
_TIMES_SIGN, _EN_DASH, _EM_DASH = "\u00d7", " \u2013 ", " \u2014 "
_ONES = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905


_NOT_IN_WORDS = (6, 8)
"""Ones never written in words: "six" and "eight" are words of held-out note times ("at half past
six", and the generated development set's "at quarter to eight")."""


def number_words(value: int) -> str | None:
    """0-100 and 1000 in words ("thirty-five", "a hundred"); ``None`` for other numbers and for those
    ending in six or eight."""
    if value % 10 in _NOT_IN_WORDS and value < 100:
        return None
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (("-" if value % 3 else " ") + _ONES[ones] if ones else "")
    return {100: "a hundred", 1000: "a thousand"}.get(value)


def number_v7(rng: random.Random) -> int | float:
    """A number as users give them: small and large integers (up to seven digits), decimals, negatives."""
    if WIDER:
        if rng.random() < 0.15:  # more numbers of five to seven digits
            return rng.randint(10**4, 10 ** rng.randint(5, 7) - 1)
        value = _number_v7(rng)
        return int(value) if float(value).is_integer() else value  # 5275, not 5275.0, for "5,275"
    return _number_v7(rng)


def _number_v7(rng: random.Random) -> int | float:
    roll = rng.random()
    if roll < 0.3:
        return rng.randint(0, 99)
    if roll < 0.48:
        return rng.randint(100, 9999)
    if roll < 0.66:
        return rng.randint(10**4, 10 ** rng.randint(5, 7) - 1)
    if roll < 0.72:
        return rng.choice((1, 2, 5, 10, 25, 50)) * 10 ** rng.randint(2, 5)
    if roll < 0.87:
        return round(rng.uniform(0, 10 ** rng.randint(1, 4)), rng.choice((1, 2)))
    return -(rng.randint(1, 999) if rng.random() < 0.7 else round(rng.uniform(0, 100), 1))


def say_number(rng: random.Random, value: float, words: bool = True) -> str:
    """How a user writes ``value``: digits, thousands separators, words, money-like decimals."""
    if float(value).is_integer():
        value = int(value)
        if words and (0 <= value <= 100 or value == 1000) and rng.random() < (0.4 if WIDER else 0.25):
            said = number_words(value)
            if said is not None:
                return said
        if abs(value) >= 1000 and rng.random() < 0.5:
            return f"{value:,}"
        if value < 0 and rng.random() < 0.15:
            return f"negative {-value}"
        return str(value)
    text = data._fmt(value)
    if len(text.split(".")[1]) == 1 and rng.random() < 0.15:
        text += "0"
    return text


_ASK = ("what's", "what is", "how much is", "whats", "calculate", "work out", "tell me", "quick:", "", "")


def _add_prompt(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        op = _pick(rng, "plus", "plus", "+", "and", "added to")
        ask = rng.choice(_ASK)
        if op == "and" and ask not in ("what's", "what is", "how much is"):
            op = "plus"
        end = _pick(rng, "?", "?", "", ".", " = ?", "=?")
        return f"{ask} {{a}} {op} {{b}}{end}".strip()
    if roll < 0.6:
        verb = _pick(rng, "add", "sum", "total", "add up", "tally up", "combine")
        return _frame(rng, f"{verb} {{a}} {_pick(rng, 'and', 'and', 'with')} {{b}}")
    if roll < 0.72:
        verb = _pick(rng, "increase", "raise", "bump up", "grow")
        return _frame(rng, f"{verb} {{a}} by {{b}}")
    if roll < 0.8:
        return _pick(
            rng,
            "what's {a} increased by {b}?",
            "{a} more than {b}?",
            "what's the total of {a} and {b}?",
            "{a} and {b} together?",
            "what's {a} with {b} added?",
            "how much are {a} and {b} in total?",
        )
    thing, other = rng.sample(_THINGS, 2)
    return COUNTS + _pick(
        rng,
        f"I bought {{a}} {thing} and then {{b}} more. How many {thing} do I have?",
        f"A shop sold {{a}} {thing} on Monday and {{b}} on Tuesday. How many in all?",
        f"The {thing} cost {{a}} and the {other} cost {{b}}. What did I pay altogether?",
        f"{{n}} has {{a}} {thing} and finds {{b}} more. What's the total?",
        "My savings are {a} and I deposit {b}. What's the new balance?",
        "We walked {a} steps before lunch and {b} after. How many steps in total?",
        f"Box one has {{a}} {thing}, box two has {{b}}. How many altogether?",
    )


def _multiply_prompt(rng: random.Random) -> tuple[str, int | None]:
    """A multiplication request, and the second factor when the words give it ("double" -> 2)."""
    roll = rng.random()
    if roll < 0.4:
        op = _pick(rng, "times", "times", "x", _TIMES_SIGN, "*", "multiplied by")
        ask = rng.choice(_ASK)
        end = _pick(rng, "?", "?", "", ".", " = ?", "=?")
        if op in ("x", _TIMES_SIGN, "*") and rng.random() < 0.4:
            return f"{ask} {{a}}{op}{{b}}{end}".strip(), None
        return f"{ask} {{a}} {op} {{b}}{end}".strip(), None
    if roll < 0.58:
        verb = _pick(rng, "multiply", "times", "multiply together")
        return _frame(rng, f"{verb} {{a}} {_pick(rng, 'by', 'and', 'with')} {{b}}"), None
    if roll < 0.75:
        word, factor = rng.choice((("double", 2), ("double", 2), ("triple", 3), ("twice", 2)))
        if word == "twice":
            return _pick(rng, "what's twice {a}?", "twice {a}?", "what is twice {a}"), 2
        return _pick(rng, _frame(rng, f"{word} {{a}}"), f"what's {word} {{a}}?", f"{{a}} {word}d?"), factor
    if roll < 0.82:
        return _pick(
            rng,
            "{a} lots of {b}?",
            "{a} groups of {b}?",
            "product of {a} and {b}?",
            "{a} sets of {b} is what?",
            "what's {a} by {b}?",
        ), None
    thing = rng.choice(_THINGS)
    return COUNTS + _pick(
        rng,
        f"There are {{a}} shelves with {{b}} {thing} on each. How many {thing} in total?",
        f"Each crate holds {{b}} {thing}. How many {thing} fit in {{a}} crates?",
        f"{{n}} orders {{a}} packs of {{b}} {thing}. How many {thing} is that?",
        "{a} tickets at {b} each: what's the total cost?",
        f"If one {thing[:-1]} weighs {{b}}, what do {{a}} weigh?",
        "A week has {a} shifts of {b} hours. How many hours is that?",
    ), None


COUNTS = "\x00"
"""Marks a word problem about counts (whole, positive numbers)."""
_THINGS = (
    "apples", "pens", "chairs", "cups", "tiles", "bricks", "stamps", "marbles", "shirts", "bolts", "cards",
    "jars", "seeds", "nails", "candles", "plates", "coins", "oranges", "rolls", "cans", "socks",
)  # fmt: skip


def _arith_v7(rng: random.Random, name: str) -> _Turn:
    a, b = number_v7(rng), number_v7(rng)
    if name == "add":
        template, factor = _add_prompt(rng), None
    else:
        template, factor = _multiply_prompt(rng)
    if factor is not None:
        b = factor
    if template.startswith(COUNTS):
        template = template[1:]
        a, b = rng.randint(2, 500), rng.randint(2, 99)
    sa, sb = say_number(rng, a), str(b) if factor else say_number(rng, b)
    if "{b}" in template and template.index("{a}") > template.index("{b}"):
        a, b, sa, sb = b, a, sb, sa  # the arguments follow the order the numbers are written in
    prompt = fill(rng, template, a=sa, b=sb, n=rng.choice(_NAMES))
    slots = {"a": data._fmt(a), "b": data._fmt(b)}
    return _Turn(_wrap(rng, prompt), name, {"a": a, "b": b}, slots, True, name)


_UNIT_WORDS = {
    "km": ("km", "kms", "kilometers", "kilometres", "kilometer", "k"),
    "mi": ("miles", "mi", "mile"),
}


def _convert_v7(rng: random.Random) -> _Turn:
    f = rng.choice(("km", "mi"))
    t = "mi" if f == "km" else "km"
    v = abs(number_v7(rng))
    fw, tw = rng.choice(_UNIT_WORDS[f]), rng.choice(_UNIT_WORDS[t][:4])
    if fw == "k" and not float(v).is_integer():
        fw = "km"
    roll = rng.random()
    if roll < 0.35:
        verb = _pick(rng, "convert", "change", "switch", "translate", "put")
        core = f"{verb} {{v}} {fw} {_pick(rng, 'to', 'into', 'in')} {tw}"
        template = _frame(rng, core)
    elif roll < 0.6:
        template = _pick(
            rng,
            f"how many {tw} {_pick(rng, 'is', 'are', 'make')} {{v}} {fw}?",
            f"how many {tw} in {{v}} {fw}?",
            f"what's {{v}} {fw} in {tw}?",
            f"what is {{v}} {fw} in {tw}",
            f"{{v}} {fw} in {tw}?",
            f"{{v}} {fw} to {tw}",
            f"{{v}} {fw} = how many {tw}?",
            f"how long is {{v}} {fw} in {tw}?",
            f"{{v}} {fw} equals how many {tw}",
        )
    elif WIDER and roll < 0.75:
        thing = _pick(
            rng,
            "The trail",
            "The route",
            "My commute",
            "The drive",
            "The race",
            "The hike",
            "Our walk",
            "The bridge",
            "The coastline",
            "The ferry ride",
            "The tunnel",
        )
        ask = _pick(rng, f"How many {tw} is that?", f"In {tw}?", f"What's that in {tw}?", f"how far in {tw}?")
        template = f"{thing} is {{v}} {fw}{_pick(rng, '. ', ', ', ' - ')}{ask}"
    else:
        verb = _pick(rng, "ran", "walked", "cycled", "drove", "swam", "hiked", "rode", "flew")
        when = _pick(rng, " today", " yesterday", " this week", "", " last week")
        ask = _pick(
            rng,
            f"How many {tw} is that?",
            f"What's that in {tw}?",
            f"How far is that in {tw}?",
            f"That's how many {tw}?",
            f"Can you give me that in {tw}?",
        )
        template = f"I {verb} {{v}} {fw}{when}{_pick(rng, '. ', ', ', ' - ')}{ask}"
    prompt = fill(rng, template, v=say_number(rng, v))
    args = {"value": v, "from_unit": f, "to_unit": t}
    return _Turn(
        _wrap(rng, prompt), "convert_length", args, {"v": data._fmt(v), "f": f, "t": t}, True, "convert"
    )


# -- notes ------------------------------------------------------------------------------------------
_NAMES = (
    "Sam", "Alex", "Maria", "Anna", "Luis", "Mei", "Omar", "Nina", "Raj", "Elena", "Jack", "Zoe", "Ivan",
    "Fatima", "Chen", "Lucy", "Max", "Ada", "Hugo", "Ines", "Kofi", "Yuki", "Noah", "Leo", "Eva", "Dan",
    "Rosa", "Paul", "Amir", "Greta", "Ravi", "Tara", "Felix", "Nora", "Marco", "Lila", "Oscar", "Vera",
)  # fmt: skip
_NOTE_VERBS_V7 = (
    "ask", "bring", "book", "buy", "call", "cancel", "check", "email", "feed", "fix", "get", "give", "invite",
    "meet", "move", "order", "pay", "pick up", "print", "return", "send", "text", "visit", "water", "wash",
    "charge", "plan", "confirm", "update", "clean", "cook", "find", "write to", "phone", "ring", "post",
)  # fmt: skip
_NOTE_OBJECTS_V7 = (
    "the car", "the tickets", "the rent", "the report", "the bins", "the plants", "dinner", "the laundry",
    "the forms", "the invoice", "the doctor", "the boxes", "the parcel", "the hotel", "the tax forms",
    "the cat", "the dog", "the lawn", "the water bill", "the recycling", "the mail", "the charger",
    "the present", "the slides", "the neighbours", "the school", "the office", "the landlady", "the tyres",
    "the garden", "the kettle", "the oven", "the windows", "the bike", "the roof", "the carpet",
)  # fmt: skip
_NOTE_WHEN_V7 = (
    "tomorrow", "tonight", "today", "on Monday", "on Friday", "by Thursday", "this weekend", "next week",
    "after work", "after dinner", "at 7pm", "at 9am", "by 5pm", "at 4:45", "at 10:15", "on the 9th",
    "on the 22nd", "before dinner", "this week", "in two days", "by the end of the week", "on Wednesday",
)  # fmt: skip
_NOTE_STATEMENTS_V7 = (
    "{n}'s {x} is in the {y}", "{n} called about the {x}", "the {x} costs ${d}", "{n} is coming over {w}",
    "the {x} starts at {t}", "we need more {z}", "I left the {x} at {n}'s place", "{n}'s {x} needs fixing",
    "the {x} number is {d}", "{n} paid for the {x}", "the {x} is broken again", "{n} can bring the {x}",
    "the {x} arrives {w}", "{n} said the {x} is fine", "the {x} is due {w}", "I'm out of {z}",
    "it's my turn to {v} the {x}", "{n} doesn't eat {z}", "the {x} is with {n}",
)  # fmt: skip
_PLACES_V7 = ("drawer", "cupboard", "shed", "car", "hallway", "attic", "basement", "kitchen", "office", "van")


def _note_object(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(_NOTE_OBJECTS_V7)
    if roll < 0.6:
        return rng.choice(data._NOTE_OBJECTS)
    if roll < 0.75:
        return f"{rng.choice(_NAMES)}'s {data.made_up_name(rng).lower()}"
    return rng.choice(("the ", "a ", "my ", "")) + data.made_up_name(rng).lower()


def _note_clause(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        verb = rng.choice(_NOTE_VERBS_V7) if rng.random() < 0.7 else data.made_up_name(rng).lower()
        parts = [verb, _note_object(rng)]
        if rng.random() < 0.5:
            parts.append(rng.choice(_NOTE_WHEN_V7))
        return " ".join(parts)
    if roll < 0.8:
        thing = (
            data.made_up_name(rng).lower() if rng.random() < 0.4 else rng.choice(_NOTE_OBJECTS_V7).split()[-1]
        )
        return rng.choice(_NOTE_STATEMENTS_V7).format(
            x=thing,
            y=rng.choice(_PLACES_V7),
            z=rng.choice(_THINGS) if rng.random() < 0.6 else data.made_up_name(rng).lower(),
            d=str(rng.randint(1, 9999)),
            n=rng.choice(_NAMES) if rng.random() < 0.7 else data.made_up_name(rng).split()[0],
            w=rng.choice(_NOTE_WHEN_V7),
            t=_pick(rng, "8:15", "7pm", "noon", "9:30", "11am", "6:45"),
            v=rng.choice(_NOTE_VERBS_V7[:20]),
        )
    items = [
        rng.choice(_THINGS) if rng.random() < 0.6 else data.made_up_name(rng).lower()
        for _ in range(rng.randint(2, 5))
    ]
    return ", ".join(items[:-1]) + _pick(rng, ", ", " and ", ", and ") + items[-1]


def note_text_v7(rng: random.Random) -> str:
    """A note as people write them: one to three clauses, with commas, apostrophes, times and names."""
    if rng.random() < 0.25:
        return data.note_text_v3(rng)
    text = _note_clause(rng)
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        text += _pick(rng, ", then ", ", ", " and ", "; ", " - ", ", and ", " but ") + _note_clause(rng)
    if rng.random() < 0.15:
        text = text[0].upper() + text[1:]
    return text


_NOTE_NOUNS = (
    "note",
    "reminder",
    "memo",
    "to-do",
    "quick note",
    "new note",
    "note for later",
    "notebook entry",
)
_NOTE_VERBS_REQ = (
    "make",
    "take",
    "save",
    "add",
    "write",
    "create",
    "leave",
    "start",
    "put down",
    "store",
    "record",
)
_LISTS = ("my notes", "my list", "my notebook", "my to-do list", "my reminders", "the notes", "the list")
_QUOTES = (('"', '"'), ("'", "'"), ("“", "”"))


def _save_prompt_v7(rng: random.Random, text: str, starts_with_verb: bool, statement: bool) -> str:
    roll = rng.random()
    if roll < 0.3:  # an introduction, then a colon or a dash
        if rng.random() < 0.5:
            what = _pick(
                rng, f"a {rng.choice(_NOTE_NOUNS)}", f"a {rng.choice(_NOTE_NOUNS)}", "this", "the following"
            )
            intro = f"{rng.choice(_NOTE_VERBS_REQ)} {what}"
            intro += _pick(rng, "", "", " for me", " please", " in my notes", " for later")
            intro = _frame(rng, intro).rstrip(".?!")
        else:
            intro = rng.choice(_NOTE_NOUNS) + _pick(rng, "", "", " please", " for me", " to self")
            intro = intro[0].upper() + intro[1:]
        return fill(
            rng, intro + _pick(rng, ": ", ": ", ": ", " - ", _EN_DASH, _EM_DASH, ":  ") + "{t}", t=text
        )
    if roll < 0.45:  # quoted
        left, right = rng.choice(_QUOTES)
        quoted = left + text + right
        template = _pick(
            rng,
            f"{_pick(rng, 'add', 'put', 'save', 'write', 'store', 'keep', 'log', 'record')} {{q}} "
            f"{_pick(rng, 'to', 'in', 'on', 'into')} {rng.choice(_LISTS)}",
            f"{_pick(rng, 'save', 'store', 'keep', 'log', 'file')} {{q}} as a "
            f"{_pick(rng, 'note', 'reminder', 'memo')}",
            f"{_pick(rng, 'make', 'create', 'add', 'save')} a {_pick(rng, 'note', 'reminder', 'memo')} "
            f"{_pick(rng, 'that says', 'saying', 'reading', 'with the text', 'with')} {{q}}",
            f"{_pick(rng, 'note', 'remember', 'write down', 'jot', 'log')} {{q}}",
            f"{rng.choice(_NOTE_NOUNS)}: {{q}}",
        )
        return fill(rng, _frame(rng, template), q=quoted)
    if roll < 0.57:  # "a note that says ..."
        verb = rng.choice(("make", "create", "add", "write", "save", "leave", "start", "set"))
        says = _pick(rng, "that says", "saying", "that reads", "reading", "which says", "to say")
        return fill(
            rng, _frame(rng, f"{verb} a {_pick(rng, 'note', 'reminder', 'memo')} {says} {{t}}"), t=text
        )
    if roll < 0.7:  # the note inside the sentence
        verb = _pick(rng, "add", "put", "save", "stick", "pop", "write", "include")
        prep = _pick(rng, "to", "in", "on", "into")
        return fill(rng, _frame(rng, f"{verb} {{t}} {prep} {rng.choice(_LISTS)}"), t=text)
    if starts_with_verb and rng.random() < 0.6:  # "remind me to ..."
        lead = _pick(
            rng,
            "remind me to",
            "can you remind me to",
            "I need to remember to",
            "don't let me forget to",
            "make sure I remember to",
            "help me remember to",
            "I have to",
            "I must remember to",
            "please remind me to",
            "note that I need to",
            "remember that I have to",
        )
        return fill(
            rng, lead + " {t}" + _pick(rng, "", "", ".", "?" if lead.startswith("can") else "!"), t=text
        )
    if statement:  # "remember that ..."
        lead = _pick(
            rng,
            "remember that",
            "note that",
            "write down that",
            "make a note that",
            "keep in mind that",
            "record that",
            "log that",
            "save the fact that",
            "add a note that",
        )
        return fill(rng, _frame(rng, f"{lead} {{t}}"), t=text)
    return fill(rng, rng.choice(_NOTE_NOUNS).capitalize() + _pick(rng, " - ", ": ") + "{t}", t=text)


def _save_v7(rng: random.Random) -> _Turn:
    text = note_text_v7(rng)
    first = text.split(" ")[0]
    starts_with_verb = first in {v.split()[0] for v in (*_NOTE_VERBS_V7, *data._NOTE_VERBS)}
    statement = not starts_with_verb
    prompt = _save_prompt_v7(rng, text, starts_with_verb, statement)
    return _Turn(_wrap(rng, prompt), "save_note", {"text": text}, {}, True, "save_note")


def _list_v7(rng: random.Random) -> _Turn:
    roll = rng.random()
    if roll < 0.5:
        verb = _pick(
            rng, "show", "read", "list", "read out", "display", "give me", "read back", "open", "recite"
        )
        what = _pick(
            rng,
            "my notes",
            "my reminders",
            "my saved notes",
            "everything I saved",
            "what I wrote down",
            "my notebook",
            "my list",
            "all the notes",
            "the notes I made",
        )
        core = _frame(rng, f"{verb} {what}")
    else:
        core = _pick(
            rng,
            f"what {_pick(rng, 'notes', 'reminders')} "
            f"{_pick(rng, 'do I have', 'are saved', 'did I make', 'are there')}?",
            f"did I {_pick(rng, 'save', 'write', 'note')} anything "
            f"{_pick(rng, 'yet', 'before', 'today', 'so far')}?",
            f"what's {_pick(rng, 'in', 'on')} "
            f"{_pick(rng, 'my notebook', 'my list', 'my notes', 'the list')}?",
            f"what {_pick(rng, 'have I', 'did I')} "
            f"{_pick(rng, 'saved', 'written down', 'noted', 'save', 'write down')}?",
            f"{_pick(rng, 'any', 'got any', 'are there any')} "
            f"{_pick(rng, 'notes', 'reminders', 'saved notes')}?",
            "remind me what I saved.",
        )
    return _Turn(_wrap(rng, fill(rng, core)), "list_notes", {}, {}, True, "list_notes")


# -- questions no tool answers -------------------------------------------------------------------------
_COUNTRIES = (
    "France", "Spain", "Japan", "Peru", "Kenya", "Norway", "Chile", "Egypt", "Italy", "Mexico", "India",
    "Germany", "Greece", "Vietnam", "Ghana", "Poland", "Portugal", "Turkey", "Iceland", "Morocco",
)  # fmt: skip
_TOPICS = (
    "the ocean", "volcanoes", "dinosaurs", "jazz", "chess", "bees", "the Roman empire", "black holes",
    "photosynthesis", "the internet", "electricity", "pyramids", "whales", "rainbows", "gravity",
    "coffee", "tea", "the stock market", "football", "trains", "glaciers", "vaccines", "robots", "ants",
)  # fmt: skip
_WH = ("what", "who", "why", "how", "when", "where", "which")


def _knowledge(rng: random.Random, toolset: data.Toolset) -> str:
    topic = rng.choice(_TOPICS) if rng.random() < 0.7 else data.made_up_name(rng).lower()
    city, country = city_v7(rng), rng.choice(_COUNTRIES) if rng.random() < 0.6 else data.made_up_name(rng)
    a, b = say_number(rng, rng.randint(2, 999)), say_number(rng, rng.randint(2, 999))
    roll = rng.random()
    if roll < 0.3:  # about a topic
        template = _pick(
            rng,
            f"{_pick(rng, 'tell me about', 'explain', 'describe', 'give me facts about', 'teach me about')} "
            f"{topic}",
            f"{_pick(rng, 'who discovered', 'who invented', 'when was the first', 'why do people like')} "
            f"{topic}?",
            f"what {_pick(rng, 'is', 'are', 'causes', 'makes')} {topic}{_pick(rng, '?', '', ' exactly?')}",
            f"how {_pick(rng, 'do', 'does', 'did')} {topic} "
            f"{_pick(rng, 'work', 'start', 'begin', 'change')}?",
            f"write {_pick(rng, 'a poem', 'a haiku', 'a song', 'a short story', 'an essay')} about {topic}",
            f"is {topic} {_pick(rng, 'dangerous', 'expensive', 'interesting', 'new', 'real')}?",
        )
        return _frame(rng, template) if not template.endswith("?") else template
    if roll < 0.55:  # naming a place: a weather bot must not call get_weather for these
        return fill(
            rng,
            _pick(
                rng,
                "what's the population of {city}?",
                "what time is it in {city}?",
                "what is {city} famous for?",
                "how do I get to {city}?",
                "where is {city}?",
                "what language is spoken in {c}?",
                "what's the capital of {c}?",
                "best restaurants in {city}?",
                "what should I see in {city}?",
                "how big is {city}?",
                "who founded {city}?",
                "what currency does {c} use?",
                "how far is {city} from {city2}?",
                "is {city} expensive to live in?",
                "what's the history of {city}?",
                "which country is {city} in?",
                "is {city} safe for tourists?",
                "what's the time difference with {city}?",
                "when was {city} founded?",
            ),
            city=city,
            city2=city_v7(rng),
            c=country,
        )
    if (
        roll < 0.75 or toolset.name == "calculator"
    ):  # with numbers: the calculator must not add or multiply these
        return fill(
            rng,
            _pick(
                rng,
                "what's the square root of {a}?",
                "is {a} an even number?",
                "which is larger, {a} or {b}?",
                "what's {a} minus {b}?",
                "what is {a} divided by {b}?",
                "what's {a} squared?",
                "round {c} please",
                "what is {a} percent of {b}?",
                "count from {a} to {b}",
                "what comes after {a}?",
                "is {a} more than {b}?",
                "what year was it {a} years ago?",
                "what happened in 19{yy}?",
                "how many weeks are in a year?",
                "how many hours are in a week?",
                "what is pi?",
                "what's a fraction?",
                "how do I do long division?",
                "why is zero special?",
                "what's the biggest number?",
            ),
            a=a,
            b=b,
            c=data._fmt(round(rng.uniform(0, 100), 2)),
            yy=f"{rng.randint(0, 99):02d}",
        )
    return _pick(
        rng,
        "What should I cook tonight?",
        "What's the meaning of life?",
        "Write an email to my boss.",
        "Recommend a good film.",
        "Give me a recipe for soup.",
        "How do I tie a tie?",
        "Why do dogs bark?",
        "What's a good name for a cat?",
        "Sing me a song.",
        "Draw me a picture.",
        "Who's the best footballer?",
        "What's love?",
        "Can you book me a flight?",
        "Order me a pizza.",
        "Set an alarm for 7.",
        "Play some music.",
        "Call my mum.",
        "Send a text to Sam.",
        "Open the door.",
        "Turn on the lights.",
    )


def _abilities_question(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        what = _pick(
            rng, "what", "which things", "what kinds of things", "what tasks", "what stuff", "which jobs"
        )
        can = _pick(
            rng,
            "can you do",
            "can you help with",
            "do you handle",
            "can you handle",
            "are you for",
            "can I use you for",
            "do you do",
            "are you designed for",
            "can you do for me",
        )
        return fill(rng, f"{what} {can}{_pick(rng, '?', '?', '', ' exactly?', ' here?')}")
    if roll < 0.7:
        return fill(
            rng,
            _pick(
                rng,
                "what are your {x}?",
                "which {x} do you have?",
                "do you have any {x}?",
                "list your {x}",
                "tell me your {x}",
                "show me your {x}",
                "what {x} are available?",
                "any {x}?",
            ).format(
                x=_pick(rng, "tools", "skills", "abilities", "features", "functions", "commands", "powers")
            ),
        )
    return fill(
        rng,
        _pick(
            rng,
            "what can you do?",
            "how can you help?",
            "how do you work?",
            "what are you good at?",
            "what is your purpose?",
            "how do I use this?",
            "help",
            "help me",
            "what now?",
            "what's this bot?",
            "explain what you do",
            "what are you?",
            "what do you offer?",
            "where do I start?",
            "what can I do here?",
        ),
    )


_CHAT_V7 = (
    (
        ("thank you", "thanks", "many thanks", "thanks a lot", "ty", "thank u", "thanks so much"),
        ("You're welcome!", "You're welcome! Anything else?", "Glad to help!"),
    ),
    (
        ("bye", "goodbye", "see you", "see ya", "talk later", "bye for now", "catch you later"),
        ("Goodbye! Have a nice day.",),
    ),
    (("good night", "night night", "nighty night", "sleep well"), ("Good night! Sleep well.",)),
    (
        ("hi", "hello", "hey", "hey there", "hi bot", "hello again", "heya"),
        ("Hello! How can I help you today?", "Hi! What can I do for you?"),
    ),
    (("good morning", "morning"), ("Good morning! How can I help?",)),
    (
        ("tell me a joke", "make me laugh", "say something funny", "know any jokes?"),
        ("Why did the hermit crab never share? Because it was a little shellfish.",),
    ),
    (
        ("are you a robot?", "are you real?", "are you alive?", "are you a bot?", "are you an AI?"),
        ("I am a very small language model. I can use tools to help you.",),
    ),
    (
        ("how are you?", "how are you doing?", "how's it going?", "you ok?", "what's up?"),
        ("I'm fine, thanks! How can I help?",),
    ),
    (
        ("I'm sad", "I feel lonely", "I'm stressed", "I'm exhausted", "what a day"),
        ("Sorry to hear that. I hope things get better soon.",),
    ),
    (("cool", "ok", "great", "nice", "awesome", "perfect", "got it", "okay thanks"), ("Glad to help!",)),
    (
        ("forget it", "never mind", "no thanks", "nothing else", "that's it"),
        ("No problem. Let me know if you need anything.",),
    ),
    (
        ("who made you?", "who created you?", "what's your name?", "who are you?"),
        ("I am hermitcrab's tiny demo model, a small assistant that can use tools.",),
    ),
    (
        ("do you like pizza?", "do you dream?", "do you have feelings?", "what's your favourite colour?"),
        ("I am a small model, so I have no likes of my own, but I am happy to chat.",),
    ),
    (("sorry", "oops", "my bad", "sorry, wrong button"), ("No problem at all.",)),
)


def _chat(rng: random.Random) -> tuple[str, str]:
    prompts, answers = rng.choice(_CHAT_V7)
    prompt = rng.choice(prompts)
    prompt += _pick(rng, "", "!", ".", "", " :)", "!!")
    if rng.random() < 0.5:
        prompt = prompt[0].upper() + prompt[1:]
    return prompt, rng.choice(answers)


_NO_TOOL_ANSWERS = (
    "Sorry, I can't answer that. {abilities}",
    "I don't know that, sorry. {abilities}",
    "That's outside what I can do. {abilities}",
    "Sorry, I have no tool for that. {abilities}",
)


def _no_tool_v7(rng: random.Random, toolset: data.Toolset) -> _Turn:
    """A message no tool of ``toolset`` answers, with a short polite answer that says what the bot can do."""
    abilities = data._ABILITIES[toolset.name]
    roll = rng.random()
    if WIDER and roll > 0.85 and rng.random() < 0.5:  # a closing remark
        thanks = _pick(rng, "thanks", "thank you", "ty", "cheers", "thx", "great", "ok", "perfect")
        closing = _pick(
            rng,
            "that's all",
            "that's everything",
            "all done",
            "nothing more",
            "I'm done",
            "that's it",
            "all good",
            "no more questions",
            "that was all",
        )
        prompt = fill(
            rng, f"{thanks}{_pick(rng, ', ', '! ', '. ', ' ')}{closing}{_pick(rng, '', '!', '.', ' :)')}"
        )
        return _Turn(prompt, None, {}, {}, True, "chat", "You're welcome! Have a nice day.")
    if roll < (0.4 if WIDER else 0.3) and toolset.name != "none":  # the other bot's request
        if toolset.name == "weather" and WIDER:
            make = {
                "add": lambda: _arith_v7(rng, "add"),
                "multiply": lambda: _arith_v7(rng, "multiply"),
                "save": lambda: _save_v7(rng),
                "list": lambda: _list_v7(rng),
            }
            other = make[_pick(rng, "add", "multiply", "save", "list", "save")]()
        elif toolset.name == "weather":
            other = rng.choice(
                (_arith_v7(rng, "add"), _arith_v7(rng, "multiply"), _save_v7(rng), _list_v7(rng))
            )
        else:
            other = _weather_v7(rng) if rng.random() < 0.75 else _convert_v7(rng)
        answer = (
            _pick(rng, "Sorry, I have no tool for that here. ", "I can't do that here, sorry. ") + abilities
        )
        return _Turn(other.prompt, None, {}, {}, True, "no_tool", answer)
    if roll < 0.65:
        answer = rng.choice(_NO_TOOL_ANSWERS).format(abilities=abilities)
        return _Turn(_wrap(rng, _knowledge(rng, toolset)), None, {}, {}, True, "no_tool", answer)
    if roll < 0.85:
        return _Turn(_wrap(rng, _abilities_question(rng)), None, {}, {}, True, "chat", abilities)
    prompt, answer = _chat(rng)
    return _Turn(prompt, None, {}, {}, True, "chat", answer)


# -- one turn ----------------------------------------------------------------------------------------
@functools.cache
def kept_out() -> frozenset[str]:
    """Every prompt of the held-out and development sets, generated and hand-written, with and without
    its lead-in: variant 7 draws again rather than produce one of them (``data.check_disjoint`` checks)."""
    return frozenset(data.kept_out_prompts())


def turn_v7(rng: random.Random, toolset: data.Toolset) -> _Turn:
    """One request of variant 7 for ``toolset``'s bot (about a quarter need no tool)."""
    while True:
        turn = _turn_v7(rng, toolset)
        if turn.prompt not in kept_out():
            return turn


def _turn_v7(rng: random.Random, toolset: data.Toolset) -> _Turn:
    roll = rng.random()
    if toolset.name == "none":
        return _no_tool_v7(rng, toolset) if roll < 0.5 else data._turn_v3(rng, toolset)
    if roll < 0.26:
        return _no_tool_v7(rng, toolset)
    if toolset.name == "weather":
        return _weather_v7(rng) if roll < 0.8 else _convert_v7(rng)
    if roll < 0.44:
        return _arith_v7(rng, "add")
    if roll < 0.62:
        return _arith_v7(rng, "multiply")
    if roll < 0.9:
        return _save_v7(rng)
    return _list_v7(rng)


def copy_text_v7(rng: random.Random) -> str:
    """What a variant-7 copy exercise repeats: a note, cities or numbers as users write them."""
    roll = rng.random()
    if roll < 0.5:
        return note_text_v7(rng)
    if roll < 0.8:
        return " ".join(city_v7(rng) for _ in range(rng.randint(1, 3)))
    return " ".join(say_number(rng, number_v7(rng), words=False) for _ in range(rng.randint(1, 3)))
