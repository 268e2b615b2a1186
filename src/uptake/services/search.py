"""Find an organisation (by ODS code or name) or a TA (by number, title or drug name), tolerating
typos: an exact code first; then names scored word by word — each word of the query against the
closest word of the name (rapidfuzz's ratio; a word the name's word begins with counts in full),
averaged over the query's words — so 'Nort East and Nth Cumbria' finds North East and North
Cumbria, and 'apixban' finds apixaban's TA."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from rapidfuzz import fuzz, process

from ..vocabulary import LEVEL_NAMES

STOP = {"nhs", "and", "of", "the", "for", "integrated", "care", "board", "icb", "pcn", "with", "in", "a", "to"}
WORD_CUTOFF = 60  # a query word closer than this to no word of a name adds nothing
MIN_SCORE = 70


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP]


@dataclass
class Hit:
    kind: str  # 'organisation' or 'ta'
    code: str
    name: str
    detail: str  # the level, or the TA's clinical area
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


class Directory:
    """Searchable names: built once per publication."""

    def __init__(self, organisations: list[dict], catalogue):
        self._orgs = list(organisations)
        self._tas = list(catalogue.technology_appraisals)
        self._org_words = [set(words(o["name"] or "")) | {o["code"].lower()} for o in self._orgs]
        self._ta_words = [set(words(" ".join([t.title, t.clinical_area, *(p.name for p in t.products)])))
                          for t in self._tas]
        self._vocab = sorted(set().union(*self._org_words, *self._ta_words))

    def _word_scores(self, query_words: list[str]) -> list[dict[str, float]]:
        out = []
        for q in query_words:
            got = {w: s for w, s, _ in process.extract(q, self._vocab, scorer=fuzz.ratio, limit=None,
                                                       score_cutoff=WORD_CUTOFF)}
            for w in self._vocab:
                if len(q) >= 3 and w.startswith(q):
                    got[w] = 100.0
            out.append(got)
        return out

    def _score(self, name_words: set[str], per_word: list[dict[str, float]]) -> float:
        return sum(max((scores.get(w, 0.0) for w in name_words), default=0.0) for scores in per_word) / len(per_word)

    def search(self, query: str, limit: int = 20, kinds: tuple[str, ...] = ("organisation", "ta")) -> list[Hit]:
        q = query.strip()
        if not q:
            return []
        hits: dict[tuple[str, str], Hit] = {}

        def add(hit: Hit) -> None:
            key = (hit.kind, hit.code)
            if key not in hits or hits[key].score < hit.score:
                hits[key] = hit

        code = q.upper().replace(" ", "")
        per_word = self._word_scores(words(q))
        if "ta" in kinds:
            number = re.fullmatch(r"(?:TA)?0*(\d{1,4})", code)
            for t, tw in zip(self._tas, self._ta_words):
                if number and t.number == int(number.group(1)):
                    add(self._ta_hit(t, 110.0))
                elif per_word and (score := self._score(tw, per_word)) >= MIN_SCORE:
                    add(self._ta_hit(t, score))
        if "organisation" in kinds:
            for o, ow in zip(self._orgs, self._org_words):
                if o["code"] == code:
                    add(self._org_hit(o, 110.0 + _level_rank(o["level"])))
                elif per_word and (score := self._score(ow, per_word)) >= MIN_SCORE:
                    add(self._org_hit(o, score + _level_rank(o["level"]) / 10))
        return sorted(hits.values(), key=lambda h: (-h.score, h.name))[:limit]

    @staticmethod
    def _org_hit(o: dict, score: float) -> Hit:
        return Hit(kind="organisation", code=o["code"], name=o["name"] or o["code"], detail=LEVEL_NAMES.get(o["level"], o["level"]),
                   score=round(score, 2))

    @staticmethod
    def _ta_hit(t, score: float) -> Hit:
        return Hit(kind="ta", code=t.id, name=t.title, detail=t.clinical_area, score=round(score, 2))


def _level_rank(level: str) -> float:
    """Larger organisations first when names score alike (an ICB before a practice)."""
    return {"region": 5, "icb": 4, "sub_icb": 3, "pcn": 2, "practice": 1}.get(level, 0)
