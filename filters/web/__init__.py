"""Pure building blocks of the web crawler (no Beam): URL canonicalisation, address policy,
robots.txt, content sniffing, a safe fetcher, and parsers for feeds, pages, sitemaps, WARC files
and web transcript formats."""
