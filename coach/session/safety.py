"""What the coach says when something may be wrong, and which exercise it offers after pain.

The words are fixed here (and quoted in the README) so they can be reviewed as a whole: on pain,
the seed's advice (stop moving; sharp, unusual or worse pain -> don't continue, see a physician or
physical therapist), then the red flags that need urgent care, then one alternative that avoids
the painful motion. The alternative is never the same exercise and never shares a motion with
any exercise that hurt in this session; lower intensity first, then the same position (the user
is already lying there), then the id for a stable order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from coach.exercise.routine import INTENSITIES, Routine
from coach.exercise.spoken import MOTION_WORDS, number_words

PAIN_ADVICE = (
    "Stop moving, and rest in a comfortable position.",
    "If the pain is sharp, unusual, or getting worse, don't continue this exercise, "
    "and speak to your physician or physical therapist.",
)
RED_FLAGS = (
    "If you notice numbness, weakness, or loss of bladder or bowel control, "
    "get urgent medical care."
)
OFFER_QUESTION = "Would you like to try it? Say yes or no."
OFFER_DECLINED = "Okay. Rest as long as you like, and take care."
NO_ALTERNATIVE = "Rest as long as you like, and take care."
STOPPING = "Stopping."
GREEN_LIGHT = (
    "Before we begin: make sure your physician or physical therapist has given you "
    "the green light for this exercise."
)
COMMANDS_BRIEF = (
    "At any time, say stop to end, or say pain if something hurts, and I will go quiet at once."
)
COMMANDS_MORE = "You can also say slower, faster, pause, resume, or repeat."
# ... and the voice comfort commands (coach/session/comfort.py), said right after it
COMMANDS_COMFORT = "And louder, quieter, how many left, what's next, or skip."
HEARING_PROMPT = "Say ready when you're lying down."
HEARING_RETRY = "I didn't catch that. When you're lying down, say ready."
HEARING_OK = "Thank you, I can hear you."
# the safety words proven before the first exercise on a microphone (session.State.PROVING):
# the coach itself says the word it asks for (its own voice is never taken for the user's)
PROVE_ASK = {
    "stop": "One more check before we begin, so I know I will hear you. Please say stop.",
    "pain": "Thank you. Now please say pain.",
}
PROVE_ASK_AGAIN = {
    "stop": "I didn't hear that. Please say stop again, with more voice or closer to the microphone.",
    "pain": "I didn't hear that. Please say pain again, with more voice or closer to the microphone.",
}
PROVE_OTHER_FIRST = "Thank you. Now please say stop."  # pain was heard first
PROVE_OK = "I heard both words, so I can keep you safe."
PROVE_REFUSE = {
    w: f"I could not hear you say {w}, so I will not begin. Move closer to the microphone, "
    "speak up a little, or try another microphone, then run coach check."
    for w in ("stop", "pain")
}
HEARING_REFUSE = (
    "I can't hear you, so I would not hear you say stop or pain. "
    "I won't start the exercise. Please check the microphone, and try again."
)
NOT_LISTENING = (
    "Please note: I am not listening in this session, so I won't hear you say stop or pain. "
    "If anything hurts, stop moving and rest."
)
MIC_LOST = "I can't hear you anymore, so I'm pausing. Check the microphone, then say resume."
# the microphone device went away (unplugged) while the speaker still works (coach/session/mic_outage.py)
MIC_UNPLUGGED = (
    "I can't hear you anymore: the microphone has gone, so I'm pausing. Please connect it again."
)
MIC_BACK = "I can hear you again. Say resume when you are ready."
MIC_GAVE_UP = "The microphone has not come back, so I'm ending the session. Please rest."
PAUSED = "Pausing. Say resume when you want to carry on."
RESUMED = "Carrying on."
SLOWER_OK = "Longer breaths."  # short: an acknowledgement must fit a gap in the breath grid
SLOWER_LIMIT = "That is the calmest pace."
FASTER_OK = "A little quicker."
FASTER_LIMIT = "That is the quickest pace."
FAULT_SPOKEN = "Something went wrong, so I'm ending the session. Please rest."
PAUSE_TIMEOUT = "I haven't heard from you for a while, so I'm ending the session. Take care."

# How an offer names what the alternative spares the user.


def choose_alternative(
    library: Mapping[str, Routine], painful: Routine, tried: Iterable[Routine] = ()
) -> Routine | None:
    """The exercise to offer after pain in `painful` (see the module doc); None if none fits."""
    hurt = [painful, *tried]
    avoid = {m for r in hurt for m in r.motion}
    skip = {r.id for r in hurt}
    fits = [r for r in library.values() if r.id not in skip and not avoid & set(r.motion)]
    if not fits:
        return None
    return min(
        fits,
        key=lambda r: (INTENSITIES.index(r.intensity), r.position != painful.position, r.id),
    )


def offer_text(alt: Routine, painful: Routine) -> str:
    """The spoken offer: what the alternative is and which motion it avoids."""
    spared = " or ".join(MOTION_WORDS.get(m, m) for m in painful.motion)
    return f"Instead, you could try {alt.name}, which avoids {spared}. {alt.summary}"


def summary_texts(sides: tuple[str, ...], left: int, right: int) -> list[str]:
    """The reps done, said after 'Stopping.' as a person would: "You did three on each side.",
    "You did three on the right and two on the left.", "You did one on the right." (a side with
    none is left out), "You did four." (no sides). Nothing when no rep was done. One sentence,
    so it is said in one breath (two clips sounded like two remarks)."""
    if not sides:
        return [f"You did {number_words(right)}."] if right else []
    done = {"right": right, "left": left}
    counts = [(side, done[side]) for side in sides if done[side]]
    if not counts:
        return []
    if len(counts) == 2 and counts[0][1] == counts[1][1]:
        return [f"You did {number_words(counts[0][1])} on each side."]
    said = " and ".join(f"{number_words(n)} on the {side}" for side, n in counts)
    return [f"You did {said}."]
