"""The visible text of an HTML node, as a reader sees it: line breaks where blocks and <br> put
them, cells apart, scripts and styles left out, invisible characters removed.

Everything here takes attacker-written input: no recursion (100,000 nested elements are fine) and
one pass over the nodes, linear in their number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = ["html_text", "tidy_text"]

# Elements whose text is laid out on lines of its own: a line break before and after.
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "thead",
    "tfoot", "tr", "ul", "caption", "body", "html",
})
_CELL_TAGS = frozenset({"td", "th"})
# Never visible text: scripts are attacker code, not content.
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe", "object"})
_PRE_TAGS = frozenset({"pre", "textarea", "plaintext", "listing", "xmp"})

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Invisible characters that reorder or split text: attackers use them to disguise file names
# ("\u202efdp.exe") and to break words so a watched name does not match ("Medi\u200bboard").
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_BLOCK_BREAK = "\x01"
_BLOCK_RUN = re.compile(r"[ \t]*\x01[\x01 \t]*")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


def html_text(node: LexborNode | None) -> str:
    """Visible text of a node, with line breaks where <br>, <p>, <div> and other blocks put them.

    Runs of spaces in a line become one space, lines are stripped, and at most one empty line
    separates paragraphs. Scripts and styles are left out. Iterative, so an attacker's
    100,000 nested <div>s cannot exhaust the recursion limit.
    """
    if node is None:
        return ""
    # One pass over lexbor's own depth-first walk (in C): per node one tag read, and the node's
    # id compared with where the innermost open block ends, instead of a Python stack entry per
    # node (a listing row holds ~25 nodes; this is ~2x faster than walking children lists).
    parts: list[str] = []
    append = parts.append
    # Open elements that matter after their last descendant: [id of the node after the element's
    # subtree (None: the end of the walk), text to emit then, pre levels it opened, skipped].
    open_: list[tuple[int | None, str, int, bool]] = []
    pre = 0
    skipping = False
    root = True
    root_id = node.mem_id
    closing_root = ""
    ends: dict[int, int | None] = {}
    for current in node.traverse(include_text=True):
        if open_:
            here = current.mem_id
            while open_ and open_[-1][0] == here:
                _, closing, levels, skipped = open_.pop()
                pre -= levels
                if skipped:
                    skipping = False
                elif closing:
                    append(closing)
        tag = current.tag
        if tag == "-text":
            if not skipping:
                text = _CONTROLS.sub("", current.text_content or "")
                # Outside <pre> a newline in the source is layout, not content.
                append(text if pre else text.replace("\n", " "))
            root = False
            continue
        if skipping:
            continue
        if tag is None and current.is_element_node:
            tag = ""
        if tag is None or tag in ("-comment", "-doctype") or (tag in _SKIP_TAGS and not root) or tag == "br":
            # Not shown, nor anything under it (a <br> is one line break).
            if tag == "br":
                append("\n")
            if current.first_child is not None:
                if root:
                    break
                open_.append((_after(current, root_id, ends), "", 0, True))
                skipping = True
            root = False
            continue
        levels = 1 if tag in _PRE_TAGS else 0
        closing = ""
        if tag in _BLOCK_TAGS:
            append(_BLOCK_BREAK)
            closing = _BLOCK_BREAK
        elif tag in _CELL_TAGS:
            append(" ")
            closing = " "
        if root:
            pre, closing_root, root = levels, closing, False
        elif levels or closing:
            pre += levels
            open_.append((_after(current, root_id, ends), closing, levels, False))
    while open_:
        _, closing, _, skipped = open_.pop()
        if closing and not skipped:
            append(closing)
    append(closing_root)
    # Adjacent block edges make one line break; only <br><br> makes an empty line.
    return tidy_text(_BLOCK_RUN.sub("\n", "".join(parts)))


def _after(node: LexborNode, root_id: int, known: dict[int, int | None]) -> int | None:
    """The id of the first node after ``node``'s subtree in a walk of the root's subtree (None:
    the walk ends there). ``known`` keeps the answer for every node walked through: a node without
    a next sibling ends where its parent ends, so 20,000 nested blocks cost 20,000 steps, not
    20,000 squared."""
    walked: list[int] = []
    current: LexborNode | None = node
    end: int | None = None
    while current is not None:
        here: int = current.mem_id
        if here == root_id:
            break
        if here in known:
            end = known[here]
            break
        walked.append(here)
        following = current.next
        if following is not None:
            end = following.mem_id
            break
        current = current.parent
    for here in walked:
        known[here] = end
    return end


def tidy_text(text: str) -> str:
    """Collapse spaces inside lines, strip lines, keep at most one empty line in a row.

    Bidi overrides, zero-width characters and soft hyphens are removed.
    """
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
