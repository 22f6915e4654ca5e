"""Cases: intake, the case page, lists and search, who may see what."""
