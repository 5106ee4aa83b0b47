"""Evidence and delivery (证据与送达): whether evidence keeps arriving (freshness, refused files) and whether the
collection targets answer; the report section of evidence gaps."""
