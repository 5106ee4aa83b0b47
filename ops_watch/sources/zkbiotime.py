"""zkbiotime: placeholder, being written (registers its door poller)."""
