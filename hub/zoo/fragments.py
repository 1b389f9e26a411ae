"""Rendered pieces of the model pages, cached by their content.

The model list and a model's page are the zoo's busiest pages; most of their cost is turning
the same data into the same HTML again. The pieces cached here are keyed by *everything they
are made from* (the text of a card; every field a list row shows, the reader's language and
the site's URL root), so a change to a model makes a new key and the old entry is never
served again: there is nothing to invalidate, and nothing viewer-specific (the signed-in
user, CSRF tokens) is ever part of a cached piece. Old entries leave in least-recently-used
order once a cache holds more than its size in bytes.

Each server process has its own caches, bounded together at 96 MiB (a list row is about
1 KB, a version's body 3–6 KB).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup


class FragmentCache:
    """A thread-safe least-recently-used map from a key to rendered HTML, bounded in bytes.

    >>> cache = FragmentCache(max_bytes=1000)
    >>> cache.get_or_render(("row", 1), lambda: Markup("<li>1</li>"))
    Markup('<li>1</li>')
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_render(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        """The HTML cached under ``key``, else ``render()``'s (then kept under ``key``)."""
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                return html
        # Rendered outside the lock: two threads may render the same piece once each.
        html = render()
        cost = len(html) + 200
        if cost > self.max_bytes:
            return html
        with self._lock:
            if key not in self._entries:
                self._entries[key] = html
                self.size += cost
                while self.size > self.max_bytes:
                    _, old = self._entries.popitem(last=False)
                    self.size -= len(old) + 200
        return html

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


#: Sanitized HTML of model cards, by the SHA-256 of the card's text (versions never change,
#: and equal texts render equally).
CARDS = FragmentCache(max_bytes=32 * 2**20)
#: One ``<li>`` of the model list per (language, URL root, every field the row shows).
LIST_ROWS = FragmentCache(max_bytes=16 * 2**20)


def card_html(text: str) -> Markup:
    """The card's Markdown as sanitized HTML (:func:`hub.zoo.card.render_markdown`),
    rendered once per distinct text."""
    from hub.zoo.card import render_markdown

    if not text:
        return Markup("")
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return CARDS.get_or_render(key, lambda: render_markdown(text))


def list_row_key(model, language: str, base: str) -> tuple:
    """Everything one row of the model list is made from (see ``zoo/_list_row.html``)."""
    return (language, base, model.id, model.namespace, model.name, model.verified,
            model.is_public, model.is_hidden, model.task, model.downloads, model.likes,
            model.updated_at, model.summary, model.tags)


#: A version's metrics, card, signature, graph and files (``zoo/_version_body.html``).
VERSION_BODIES = FragmentCache(max_bytes=32 * 2**20)


def version_body_key(model, version, metrics: list[dict], language: str, base: str) -> tuple:
    """Everything a version's body is made from. A version's card, files and program never
    change, so its identity stands for them: its id with its creation time (a database may
    hand a deleted version's id to a new one); what validation re-measured does change, so
    the metric lines themselves are part of the key; the model's address appears in the
    file links."""
    return (language, base, model.namespace, model.name, version.id, version.created_at,
            version.number, tuple(tuple(sorted(line.items())) for line in metrics))


#: A model's version list (``zoo/_model_parts.html``: ``version_list``).
VERSION_LISTS = FragmentCache(max_bytes=16 * 2**20)


def version_list_key(model, version, versions: list, tags: dict[int, list[str]],
                     language: str, base: str) -> tuple:
    """Everything a version list is made from: each listed version's row as loaded
    (:func:`hub.zoo.services.versions_of`), the tags, and which version is shown."""
    return (language, base, model.namespace, model.name, version.id, tuple(versions),
            tuple(sorted((vid, tuple(names)) for vid, names in tags.items())))
