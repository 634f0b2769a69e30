"""Crawl phase (placeholder; filled in below)."""
