"""What a user's own configuration guarantees, and the smallest change that gets the
guarantee wanted: runs jobs under a fault menu, and searches the settings with z3."""
