"""Storage: WARC files, JSONL records and where they live. No Scrapy here."""
