"""How a routine's numbers and motions are said aloud.

The program's rests ("three exercises"), the pain advice ("avoids twisting") and the rep counts all
speak of the same things; the words live here, with the routines, so every stage says them alike.
"""

from __future__ import annotations

MOTION_WORDS = {
    "rotation": "twisting",
    "flexion": "bending forward",
    "extension": "arching back",
    "side-bend": "bending sideways",
    "hip": "moving the hips",
    "breathing": "deep breathing",
    "none": "movement",
}


NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
TENS = {2: "twenty", 3: "thirty"}


def number_words(n: int) -> str:
    """A count as a person says it ("three", "twenty one": espeak-ng runs "twenty-one" into one
    word); digits past 39 (reps stop at 30). espeak-ng says "3" and "three" alike (the same
    phonemes): words keep the text as it is heard, in the events and the display."""
    if n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    tens, ones = divmod(n, 10)
    if tens not in TENS:
        return str(n)
    return TENS[tens] + (f" {NUMBER_WORDS[ones]}" if ones else "")

