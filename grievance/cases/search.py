"""Free-text search in Chinese on SQLite and PostgreSQL alike, through a bigram index.

Chinese has no spaces, and trigram indexes cannot find two-character words such as 路灯. So the
text is cut into overlapping character pairs (小区门口路灯 -> 小区 区门 门口 口路 路灯) and runs of
letters or digits into words; each token is written as plain ASCII (the code points in hex), so the
database's own tokenizer and locale cannot split or drop it. The tokens live in cases.search_terms,
indexed by an FTS5 table on SQLite and by a stored tsvector column with a GIN index on PostgreSQL.

Text and query are folded with NFKC first, so full-width and half-width forms are one: ３号楼 and 3号楼, ＡＢ栋 and
ab栋 find each other (letters are also lower-cased). A change to the tokens needs a migration that rebuilds the
stored search_terms (as alembic/versions/0004_normalise_phones_and_search.py does).
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, column, false, func, literal, literal_column, or_, text
from sqlmodel import Session, col

from grievance.cases.models import Case

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[0-9A-Za-z]+")
MAX_QUERY_TOKENS = 16
COMMON_MATCHES = 2000  # SQLite: above this many matches, scan the ordered index instead


def _cjk_token(chars: str) -> str:
    return "c" + "".join(f"{ord(ch):05x}" for ch in chars)


def fold(text_: str) -> str:
    """The text as the index sees it: NFKC (full-width digits and letters, compatibility ideographs and
    Kangxi radicals become their ordinary forms)."""
    return unicodedata.normalize("NFKC", text_)


def tokens(text_: str) -> list[str]:
    """Distinct index tokens of a text, in order of first appearance (see the module's docstring)."""
    seen: dict[str, None] = {}
    for run in _RUNS.findall(fold(text_)):
        if run[0].isascii():
            seen["w" + run.lower()] = None
        elif len(run) == 1:
            seen[_cjk_token(run)] = None
        else:
            for i in range(len(run) - 1):
                seen[_cjk_token(run[i : i + 2])] = None
    return list(seen)


def search_terms(*texts: str) -> str:
    """The value of cases.search_terms for these texts (a case's title, description and location): its
    tokens joined by spaces."""
    return " ".join(tokens(" ".join(texts)))


def _single_chars(query: str) -> list[str]:
    """Lone Chinese characters in a (folded) query: not in the bigram index, so matched with LIKE."""
    return [run for run in _RUNS.findall(query) if len(run) == 1 and not run.isascii()]


def _contains_char(ch: str) -> ColumnElement[bool]:
    """Cases whose folded text holds this Chinese character anywhere: a token that starts with it (a lone
    character or the first of a pair) or a pair that ends with it. A scan of search_terms, not the index;
    the leading space anchors each pattern at a token's start, so hex digits never match across tokens."""
    code = f"{ord(ch):05x}"
    terms = literal(" ") + col(Case.search_terms)
    return or_(terms.like(f"% c{code}%"), terms.like(f"% c_____{code}%"))


def matches(session: Session, query: str) -> ColumnElement[bool]:
    """The condition for cases whose title, description or location contain every word of the query, both
    folded (NFKC, letters in either case). Shape: a SQL condition on cases, `false()` for a query with no word."""
    query = fold(query)
    single = _single_chars(query)
    query_tokens = [t for t in tokens(" ".join(r for r in _RUNS.findall(query) if r not in single))][:MAX_QUERY_TOKENS]
    conditions: list[ColumnElement[bool]] = []
    if query_tokens:
        conditions.append(contains_all(session, query_tokens))
    conditions.extend(_contains_char(ch) for ch in single)
    if not conditions:
        return false()
    return and_(*conditions)


def _fts_rowids(fts_query: str) -> Any:
    """The ids of cases whose search terms match an FTS5 query (SQLite)."""
    sql = "SELECT rowid FROM case_search WHERE case_search MATCH :fts_query"
    return text(sql).bindparams(fts_query=fts_query).columns(column("rowid", Integer))


def contains_all(session: Session, query_tokens: list[str], rare: bool = False) -> ColumnElement[bool]:
    """Cases whose search terms contain every one of these tokens (an index intersection).

    `rare` says the caller expects few matches (a whole title, for duplicate hints): on SQLite the
    full-text index then drives the query. PostgreSQL's planner chooses by itself, with the element
    statistics of the stored tsvector (a bitmap AND of the GIN index and a date range, say).
    """
    query_tokens = query_tokens[:MAX_QUERY_TOKENS]
    if session.get_bind().dialect.name == "postgresql":
        # cases.search_vector is generated from search_terms by the database (see the migration).
        vector = literal_column("cases.search_vector")
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'"), " & ".join(query_tokens)))
    fts_query = " AND ".join(f'"{t}"' for t in query_tokens)
    if rare:
        return col(Case.id).in_(_fts_rowids(fts_query))
    matched = session.execute(
        text("SELECT count(*) FROM case_search WHERE case_search MATCH :q").bindparams(q=fts_query)
    ).scalar_one()
    # SQLite's planner would fetch every match by id and sort them all. For a common word it is far
    # cheaper to walk the list's own index in order and stop at the page end; the unary + tells
    # SQLite not to drive the query from the id list.
    case_id = literal_column("+cases.id") if matched > COMMON_MATCHES else col(Case.id)
    return case_id.in_(_fts_rowids(fts_query))


def contains_any_group(session: Session, groups: list[list[str]], *, checked: bool = False) -> ColumnElement[bool]:
    """Cases whose search terms contain every token of at least one group: many contains_all(rare=True) in one
    index query (duplicate flags for a whole page of cases, cases/duplicates.py). `false()` for no group.

    Each group is asked once, and not at all when it holds every token of another group (whatever it matches,
    the other matches). With `checked` the caller tests every token of each row itself, so the condition may
    match more than the groups do: on PostgreSQL each group is then narrowed to its SELECTIVE_TOKENS rarest
    tokens by the column's element statistics (`selective`), which spares the index the common pairs (社区, 路灯)
    that cost a posting-list walk each."""
    groups = [g[:MAX_QUERY_TOKENS] for g in groups if g]
    postgresql = session.get_bind().dialect.name == "postgresql"
    if checked and postgresql:
        frequencies = element_frequencies(session)
        groups = [selective(g, frequencies) for g in groups]
    groups = distinct_groups(groups)
    if not groups:
        return false()
    if postgresql:
        vector = literal_column("cases.search_vector")
        tsquery = " | ".join("(" + " & ".join(g) + ")" for g in groups)
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'"), tsquery))
    fts_query = " OR ".join("(" + " AND ".join(f'"{t}"' for t in g) + ")" for g in groups)
    return col(Case.id).in_(_fts_rowids(fts_query))


def distinct_groups(groups: list[list[str]]) -> list[list[str]]:
    """The groups of an OR of ANDs that change its result: each once, none that holds every token of another
    (a narrower AND adds nothing beside a wider one). Order kept; shape as given."""
    sets = [frozenset(g) for g in groups]
    kept: list[list[str]] = []
    seen: list[frozenset[str]] = []
    for i, (group, tokens_) in enumerate(zip(groups, sets, strict=True)):
        if tokens_ in seen:
            continue
        if any(other < tokens_ for j, other in enumerate(sets) if j != i):
            continue  # another group asks for a subset of these tokens: it matches all this one does
        seen.append(tokens_)
        kept.append(group)
    return kept


SELECTIVE_TOKENS = 3  # per group: three pairs no more than rare already find few cases
STATISTICS_SECONDS = 600.0  # how long the element statistics are kept before they are read again
_FREQUENCIES: dict[str, tuple[float, dict[str, float]]] = {}


def element_frequencies(session: Session) -> dict[str, float]:
    """PostgreSQL's estimate of the share of cases (0..1) that hold each common token of cases.search_vector
    (pg_stats.most_common_elems, filled by ANALYZE, about the 1,000 commonest); a token not listed is rarer than
    all listed. Read once per database and process, again after STATISTICS_SECONDS. Empty before the first
    ANALYZE, and on SQLite."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return {}
    key = bind.engine.url.render_as_string(hide_password=True)
    cached = _FREQUENCIES.get(key)
    now = time.monotonic()
    if cached and now - cached[0] < STATISTICS_SECONDS:
        return cached[1]
    row = session.execute(
        text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = 'cases' AND attname = 'search_vector'"
        )
    ).first()
    found: dict[str, float] = {}
    if row and row[0] and row[1]:
        found = dict(zip(row[0], row[1], strict=False))  # the frequencies end with min, max and null share
    _FREQUENCIES[key] = (now, found)
    return found


def selective(group: list[str], frequencies: dict[str, float], keep: int = SELECTIVE_TOKENS) -> list[str]:
    """The `keep` tokens of a group that the fewest cases hold (a token absent from `frequencies` counts as
    rarest), in the group's order: an AND of them matches every case the whole group matches, and few more."""
    if len(group) <= keep:
        return group
    rarest = sorted(range(len(group)), key=lambda i: (frequencies.get(group[i], 0.0), i))[:keep]
    return [group[i] for i in sorted(rarest)]
