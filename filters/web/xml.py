"""Hardened lxml parsers.

XML: no entity expansion, no DTD loading, no network, no huge trees. HTML: libxml2 stops at a
nesting depth of 256 (2048 with ``huge_tree``) and hands back the partial tree *without raising*;
300 unclosed ``<font>`` tags, common in legacy pages, would silently lose everything after them.
:func:`html_document` parses with ``huge_tree`` (the body is already capped by the fetcher) and
refuses a document that libxml2 still stopped reading (:class:`TruncatedDocument`).
"""

from __future__ import annotations


class TruncatedDocument(ValueError):
    """libxml2 stopped before the end of the document (reason malformed_document)."""


def html_document(data: bytes | str):  # noqa: ANN201
    """The whole HTML document as an lxml tree; raises :class:`TruncatedDocument` when the parser
    gave up part way (too deep, or another fatal error), and lxml's own errors otherwise."""
    import lxml.html

    parser = lxml.html.HTMLParser(huge_tree=True)
    doc = lxml.html.document_fromstring(data, parser=parser)
    fatal = [e for e in parser.error_log if e.level_name == "FATAL"]
    if fatal:
        raise TruncatedDocument(f"HTML parser stopped at line {fatal[0].line}: "
                                f"{fatal[0].message.strip()}")
    return doc


def safe_xml_parser(recover: bool = False):  # noqa: ANN201
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=recover, remove_comments=True)


def local_name(tag: object) -> str:
    """Tag name without its namespace (comments and PIs give '')."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
