"""A hardened lxml XML parser: no entity expansion, no DTD loading, no network, no huge trees."""

from __future__ import annotations


def safe_xml_parser(recover: bool = False):  # noqa: ANN201
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=recover, remove_comments=True)


def local_name(tag: object) -> str:
    """Tag name without its namespace (comments and PIs give '')."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
