"""zkbiotime: placeholder, being written (registers its VendorFormat)."""
