"""Keyword spotting on a phoneme CTC model's output: how well does each command's phoneme pattern
explain this segment, compared with the best unconstrained reading of it?

Why this shape: a phoneme model hears *sounds*, not words, so it generalises to voices it never
saw, and a command is then a pattern of phonemes written by hand (the language pack's `phonemes`,
e.g. `s t ɑ|ɒ|ɔ p?`), never learned from our own (synthetic) recordings. Each pattern is aligned to
the per-frame log-probabilities by Viterbi, with free "garbage" frames before and after it; the
cost of the pattern is how much log-probability the best such path gives up against the best free
path (the argmax per frame). A clip of "stop" costs almost nothing to read as `s t ɑ p`; "bed"
costs several nats per forced phoneme. Garbage frames that the free path spends on a *phoneme*
(speech outside the command) pay `extra_penalty` each, so "stopwatch" or a sentence is not "stop".
Near words ("top" for "stop") can be compiled into the same graph as rivals: `unbeaten` drops the
commands that a rival explains better on the same audio.

Pattern syntax (validated by `parse_pattern`): slots separated by spaces; a slot lists the
tokens it accepts separated by `|`; a trailing `?` makes the slot optional. Between slots a blank
or word-boundary frame may occur; two slots that share a token need one (CTC).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

NEG = -1e9  # log-probability of the impossible (finite, so sums stay comparable)
FRAME_S = 0.02  # hama's ASR model: one output frame per 320 samples at 16 kHz


class PatternError(ValueError):
    """A phoneme pattern that cannot be used (its message names the bad part)."""


@dataclass(frozen=True)
class Slot:
    tokens: tuple[str, ...]
    optional: bool


def parse_pattern(text: str, inventory: Sequence[str] | None = None) -> tuple[Slot, ...]:
    """`"s t ɑ|ɒ p?"` -> slots; every token must be in `inventory` when one is given."""
    slots = []
    for part in text.split():
        optional = part.endswith("?")
        body = part[:-1] if optional else part
        tokens = tuple(t for t in body.split("|"))
        if not body or any(not t for t in tokens):
            raise PatternError(f"empty phoneme in '{part}'")
        if inventory is not None:
            unknown = [t for t in tokens if t not in inventory]
            if unknown:
                raise PatternError(f"unknown phoneme {', '.join(map(repr, unknown))} in '{part}'")
        slots.append(Slot(tokens, optional))
    if not slots:
        raise PatternError("no phonemes")
    if all(s.optional for s in slots):
        raise PatternError("every phoneme is optional")
    return tuple(slots)


@dataclass(frozen=True)
class Score:
    """One pattern's best alignment: `cost` >= 0 nats given up against the free path."""

    key: str
    cost: float
    start: float  # seconds from the segment start
    end: float

    def confidence(self, scale: float) -> float:
        return math.exp(-self.cost / scale)


class Spotter:
    """All patterns of a grammar compiled into one state graph, scored in one Viterbi pass.

    `blank` and `boundary` are the model's blank and word-boundary token ids; `token_ids` maps a
    token to its column in the log-probability matrix.
    """

    def __init__(
        self,
        patterns: Mapping[str, Sequence[Slot]],
        token_ids: Mapping[str, int],
        blank: int,
        boundary: int,
        extra_penalty: float = 2.0,
    ) -> None:
        self.keys = list(patterns)
        self.blank, self.boundary = blank, boundary
        self.extra_penalty = extra_penalty
        n_cols = max(token_ids.values()) + 1
        self._neg_col = n_cols  # an extra column of NEG for padding
        alts: list[list[int]] = []  # per state: the columns whose max is its emission
        kind: list[int] = []  # 0 token, 1 blank, 2 garbage-after
        preds: list[list[int]] = []
        entry: list[bool] = []
        self._final: list[list[int]] = []  # per key: states where the pattern may end
        self._after: list[int] = []  # per key: its garbage-after state
        blank_cols = [blank, boundary]
        for key in self.keys:
            slots = list(patterns[key])
            base = len(alts)
            tok = [base + 2 * i for i in range(len(slots))]  # token state of slot i
            aft = [base + 2 * i + 1 for i in range(len(slots))]  # blank after slot i
            for i, slot in enumerate(slots):
                cols = [token_ids[t] for t in slot.tokens]
                p = [tok[i]]
                j = i - 1
                while j >= 0:  # the previous emitted slot, skipping optional ones
                    if not set(slots[j].tokens) & set(slot.tokens):
                        p.append(tok[j])
                    p.append(aft[j])
                    if not slots[j].optional:
                        break
                    j -= 1
                alts.append(cols)
                kind.append(0)
                preds.append(p)
                entry.append(all(s.optional for s in slots[:i]))
                alts.append(blank_cols)
                kind.append(1)
                preds.append([aft[i], tok[i]])
                entry.append(False)
            finals = [
                s
                for i in range(len(slots))
                if all(x.optional for x in slots[i + 1 :])
                for s in (tok[i], aft[i])
            ]
            g = len(alts)
            alts.append([])
            kind.append(2)
            preds.append([g, *finals])
            entry.append(False)
            self._final.append(finals)
            self._after.append(g)
        width = max(len(p) for p in preds)
        n = len(alts)
        self._sentinel = n  # a state that is always impossible
        self._preds = np.full((n, width), n, dtype=np.int64)
        for s, p in enumerate(preds):
            self._preds[s, : len(p)] = p
        aw = max(1, max(len(a) for a in alts))
        self._alts = np.full((n, aw), self._neg_col, dtype=np.int64)
        for s, a in enumerate(alts):
            self._alts[s, : len(a)] = a
        self._kind = np.array(kind)
        self._entry = np.array(entry)
        self._garbage = self._kind == 2
        self._blank_states = self._kind == 1

    def score(self, log_probs: np.ndarray) -> list[Score]:
        """Every pattern's cost on this (frames x tokens) matrix, cheapest first."""
        lp = np.asarray(log_probs, dtype=np.float64)
        frames = lp.shape[0]
        if frames == 0:
            return [Score(k, math.inf, 0.0, 0.0) for k in self.keys]
        ext = np.concatenate((lp, np.full((frames, 1), NEG)), axis=1)
        free = lp.max(axis=1)
        best = lp.argmax(axis=1)
        spoken = (best != self.blank) & (best != self.boundary)
        garbage = free - self.extra_penalty * spoken  # a frame outside the pattern
        emit = ext[:, self._alts].max(axis=2)  # frames x states
        emit[:, self._garbage] = garbage[:, None]
        # a phoneme frame read as blank inside the pattern is speech the pattern leaves
        # unexplained, like one outside it: it pays the same
        emit[:, self._blank_states] -= self.extra_penalty * spoken[:, None]
        before = np.concatenate(([0.0], np.cumsum(garbage)))  # garbage up to frame t
        n = len(self._kind)
        v = np.full(n + 1, NEG)
        start = np.zeros(n + 1, dtype=np.int64)
        end = np.zeros(n + 1, dtype=np.int64)
        rows = np.arange(n)
        for t in range(frames):
            cand = v[self._preds]  # states x width
            arg = cand.argmax(axis=1)
            prev = cand[rows, arg]
            src = self._preds[rows, arg]
            new_start = start[src]
            new_end = end[src]
            enter = self._entry & (before[t] > prev)
            prev = np.where(enter, before[t], prev)
            new_start = np.where(enter, t, new_start)
            # the garbage-after state remembers when the pattern ended
            leaving = self._garbage & (src != rows)
            new_end = np.where(leaving, t, new_end)
            v[:n] = prev + emit[t]
            start[:n], end[:n] = new_start, new_end
        total = free.sum()
        out = []
        for k, key in enumerate(self.keys):
            ends = self._final[k]
            g = self._after[k]
            i = ends[int(np.argmax(v[ends]))]
            if v[g] >= v[i]:
                best_v, s, e = v[g], start[g], end[g]
            else:
                best_v, s, e = v[i], start[i], frames
            out.append(Score(key, max(0.0, float(total - best_v)), s * FRAME_S, e * FRAME_S))
        out.sort(key=lambda x: x.cost)
        return out


def unbeaten(
    scores: Sequence[Score],
    rivals: Collection[str],
    margin: float,
    margins: Mapping[str, float] | None = None,
) -> list[Score]:
    """The scores of the command patterns (keys not in `rivals`) that no rival pattern beats.

    A rival (a competitor: a near word such as "top" for "stop", compiled into the same graph) beats
    a command when it explains overlapping audio at least `margin` nats more cheaply (`margins`:
    per command key, where given): the audio is then that word, not the command. Both costs are
    against the same free path, so they compare directly. A rival elsewhere in the segment ("stop
    ... now") vetoes nothing."""
    rival = [r for r in scores if r.key in rivals]
    out = []
    for s in scores:
        if s.key in rivals:
            continue
        m = margin if margins is None else margins.get(s.key, margin)
        if not any(
            r.cost + m <= s.cost and min(r.end, s.end) > max(r.start, s.start) for r in rival
        ):
            out.append(s)
    return out


def near(a: Sequence[Slot], b: Sequence[Slot], edits: int = 1) -> bool:
    """At most `edits` slot edits apart (a substitution, insertion or deletion; two slots match
    when they share a token; an optional slot may be left out for free): "top" is near "stop",
    "pay" near "pain". How the pack's near words are found for one command."""
    n, m = len(a), len(b)
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = d[i - 1][0] + (0 if a[i - 1].optional else 1)
    for j in range(1, m + 1):
        d[0][j] = d[0][j - 1] + (0 if b[j - 1].optional else 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = bool(set(a[i - 1].tokens) & set(b[j - 1].tokens))
            d[i][j] = min(
                d[i - 1][j - 1] + (0 if same else 1),
                d[i - 1][j] + (0 if a[i - 1].optional else 1),
                d[i][j - 1] + (0 if b[j - 1].optional else 1),
            )
    return d[n][m] <= edits
