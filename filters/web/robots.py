"""robots.txt per RFC 9309, parsed by Protego (longest match, wildcards, Crawl-delay).

The status of the robots.txt fetch decides as much as its content (RFC 9309 section 2.3.1):
2xx is parsed; 4xx means "no rules" (allow everything); 5xx or an unreachable server means
"assume complete disallow". The crawler fails closed: *any* failure to read robots.txt other than
a real 4xx answer (a timeout, a refused or TLS-failing redirect target, an encoding it cannot
decode, a reset connection ...) is "unreachable", never "no rules". A robots.txt larger than
500 KiB is read up to 500 KiB (the last, possibly cut, line dropped) and obeyed (section 2.5).

Tokens of AI-training crawlers (``GPTBot``, ``CCBot``, ``Google-Extended`` ...) are honoured when
configured: a site that names such a token in its own group and disallows a path has opted that
path out of AI training, so we do not fetch it either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309: parse at least the first 500 KiB
_UA_LINE = re.compile(r"^\s*user-agent\s*:\s*([^#\s]+)", re.IGNORECASE | re.MULTILINE)


def robots_url(url: str) -> str:
    """The robots.txt URL governing ``url`` (same scheme, canonical host and port)."""
    from filters.web.urls import BadUrl, canonicalize_url

    try:
        url = canonicalize_url(url)
    except BadUrl:
        pass
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/robots.txt", "", ""))


@dataclass(frozen=True)
class RobotsPolicy:
    """What one host's robots.txt allows; build it with :meth:`from_response`."""

    mode: str  # "rules" (parsed 2xx), "allow_all" (4xx), "disallow_all" (5xx / unreachable)
    text: str = ""
    named_agents: frozenset[str] = field(default_factory=frozenset)
    _parser: Any = field(default=None, compare=False, repr=False)
    # why a disallow_all policy was assumed: "http_503", or the fetch failure's reason
    cause: str = ""
    cause_detail: str = ""
    cause_on_host: bool = False  # the failure was at the robots.txt URL itself (no redirect)

    @classmethod
    def from_response(cls, status: int | None, body: bytes = b"",
                      cut: bool = False) -> RobotsPolicy:
        """Policy for a robots.txt fetch that returned ``status`` (None: unreachable). ``cut``
        says the body is only the head of a longer file (its last line may be partial)."""
        if status is None or status >= 500 or status == 429:
            return cls(mode="disallow_all", cause=f"http_{status}" if status else "unreachable")
        if 400 <= status < 500:
            return cls(mode="allow_all")
        if not 200 <= status < 300:
            return cls(mode="disallow_all", cause=f"http_{status}")
        if cut or len(body) > MAX_ROBOTS_BYTES:
            head = body[:MAX_ROBOTS_BYTES]
            body = head[:head.rfind(b"\n") + 1]  # a rule cut in two is not a rule
        return cls.from_text(body.decode("utf-8", errors="replace"))

    @classmethod
    def unreachable(cls, reason: str, detail: str = "", on_host: bool = False) -> RobotsPolicy:
        """robots.txt could not be read (``reason``): complete disallow (RFC 9309 2.3.1.4)."""
        return cls(mode="disallow_all", cause=reason, cause_detail=detail, cause_on_host=on_host)

    @classmethod
    def from_text(cls, text: str) -> RobotsPolicy:
        from protego import Protego

        named = frozenset(m.group(1).lower() for m in _UA_LINE.finditer(text))
        return cls(mode="rules", text=text, named_agents=named, _parser=Protego.parse(text))

    def allows(self, url: str, user_agent: str, ai_tokens: tuple[str, ...] = ()) -> bool:
        """May ``user_agent`` fetch ``url``? With ``ai_tokens``, each explicitly named AI token
        must be allowed too."""
        if self.mode == "allow_all":
            return True
        if self.mode == "disallow_all":
            return False
        if urlsplit(url).path == "/robots.txt":
            return True
        if not self._parser.can_fetch(url, user_agent):
            return False
        for token in ai_tokens:
            if token.lower() in self.named_agents and not self._parser.can_fetch(url, token):
                return False
        return True

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay (seconds) for ``user_agent``, if the site sets one."""
        if self.mode != "rules":
            return None
        delay = self._parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None

    def sitemaps(self) -> list[str]:
        """Sitemap URLs the robots.txt announces."""
        return list(self._parser.sitemaps) if self.mode == "rules" else []
