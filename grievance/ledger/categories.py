"""Find the business category (业务分类) a ledger cell names: a code (010101), a name at any level (路灯照明), or a
path of names or codes (城市管理/市政设施/路灯照明); and create the ones a ledger names that the tree lacks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from grievance.reference.models import Category

SEPARATORS = re.compile(r"\s*[/／>＞\\|｜]\s*|\s*-{1,2}>\s*")
MAX_LEVELS = 3


@dataclass
class Found:
    """What a cell resolves to: the category's id; or, when none matches, the path to create (names from the
    top); `ambiguous` lists the paths a bare name could mean."""

    id: int | None = None
    path: tuple[str, ...] | None = None
    ambiguous: list[str] = field(default_factory=list)


@dataclass
class _Node:
    id: int
    code: str
    name: str
    parent_id: int | None


class CategoryIndex:
    """The category tree in memory, to resolve many cells with no query each."""

    def __init__(self, nodes: list[_Node]) -> None:
        self.by_id = {n.id: n for n in nodes}
        self.by_code = {n.code: n for n in nodes}
        self.children: dict[int | None, dict[str, _Node]] = {}
        self.by_name: dict[str, list[_Node]] = {}
        for n in nodes:
            self.children.setdefault(n.parent_id, {})[n.name] = n
            self.by_name.setdefault(n.name, []).append(n)

    @classmethod
    def load(cls, session: Session) -> CategoryIndex:
        rows = session.execute(select(Category.id, Category.code, Category.name, Category.parent_id))
        return cls([_Node(*row) for row in rows])

    def path_of(self, node: _Node) -> str:
        names = [node.name]
        while node.parent_id is not None:
            node = self.by_id[node.parent_id]
            names.append(node.name)
        return "/".join(reversed(names))

    def resolve(self, text: str) -> Found:
        """The category a cell names. A bare code or a name unique in the tree; a path is walked from the top
        (each part a name or a code of the child of the previous one)."""
        parts = tuple(p for p in SEPARATORS.split(text.strip()) if p)
        if not parts:
            return Found()
        if len(parts) == 1:
            only = parts[0]
            if only in self.by_code:
                return Found(self.by_code[only].id)
            named = self.by_name.get(only, [])
            if len(named) == 1:
                return Found(named[0].id)
            if named:
                return Found(ambiguous=sorted(self.path_of(n) for n in named))
            return Found(path=parts)
        parent: _Node | None = None
        for depth, part in enumerate(parts):
            siblings = self.children.get(parent.id if parent else None, {})
            node = siblings.get(part)
            if (
                node is None
                and part in self.by_code
                and self.by_code[part].parent_id == (parent.id if parent else None)
            ):
                node = self.by_code[part]
            if node is None:
                known = tuple(self.path_of(parent).split("/")) if parent else ()
                return Found(path=known + parts[depth:])
            parent = node
        assert parent is not None
        return Found(parent.id)


def create_categories(session: Session, paths: list[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Create the categories of these paths (names from the top, at most three levels) that do not exist yet,
    with codes following their parent's (0101 -> 010103). Returns the id of each path's last category. Flushes;
    the caller's transaction commits."""
    index = CategoryIndex.load(session)
    taken = set(index.by_code)
    created: dict[tuple[str, ...], int] = {}
    for path in paths:
        parent: _Node | None = None
        for depth, name in enumerate(path[:MAX_LEVELS], start=1):
            siblings = index.children.setdefault(parent.id if parent else None, {})
            node = siblings.get(name)
            if node is None:
                code = _free_code(parent.code if parent else "", taken)
                taken.add(code)
                category = Category(code=code, name=name, level=depth, parent_id=parent.id if parent else None)
                session.add(category)
                session.flush()
                assert category.id is not None
                node = _Node(category.id, code, name, category.parent_id)
                siblings[name] = node
                index.by_id[node.id] = node
            parent = node
        assert parent is not None
        created[path] = parent.id
    return created


def _free_code(prefix: str, taken: set[str]) -> str:
    n = 1
    while f"{prefix}{n:02d}" in taken:
        n += 1
    return f"{prefix}{n:02d}"
