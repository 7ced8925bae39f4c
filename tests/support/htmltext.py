"""The walk html_text() used before its fast path: kept here to test the fast one against."""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from sources.visibletext import (
    _BLOCK_BREAK,
    _BLOCK_RUN,
    _BLOCK_TAGS,
    _CELL_TAGS,
    _CONTROLS,
    _PRE_TAGS,
    _SKIP_TAGS,
    tidy_text,
)


def html_text_reference(node: LexborNode | None) -> str:
    """Visible text of a node, with line breaks where <br>, <p>, <div> and other blocks put them.

    Runs of spaces in a line become one space, lines are stripped, and at most one empty line
    separates paragraphs. Scripts and styles are left out. Iterative, so an attacker's
    100,000 nested <div>s cannot exhaust the recursion limit.
    """
    if node is None:
        return ""
    parts: list[str] = []
    # The stack holds (node, pre_depth) to enter, or a str to emit when a block closes.
    stack: list[tuple[LexborNode, int] | str] = [(node, 0)]
    while stack:
        entry = stack.pop()
        if isinstance(entry, str):
            parts.append(entry)
            continue
        current, pre = entry
        if current.is_text_node:
            text = _CONTROLS.sub("", current.text_content or "")
            # Outside <pre> a newline in the source is layout, not content.
            parts.append(text if pre else text.replace("\n", " "))
            continue
        tag = current.tag or ""
        if not current.is_element_node and not current.is_document_node:
            continue
        if tag in _SKIP_TAGS and current is not node:
            continue
        if tag == "br":
            parts.append("\n")
            continue
        if tag in _PRE_TAGS:
            pre += 1
        closing = ""
        if tag in _BLOCK_TAGS:
            parts.append(_BLOCK_BREAK)
            closing = _BLOCK_BREAK
        elif tag in _CELL_TAGS:
            parts.append(" ")
            closing = " "
        if closing:
            stack.append(closing)
        children = list(current.iter(include_text=True))
        for child in reversed(children):
            stack.append((child, pre))
    # Adjacent block edges make one line break; only <br><br> makes an empty line.
    return tidy_text(_BLOCK_RUN.sub("\n", "".join(parts)))
