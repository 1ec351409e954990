"""In-process replay of recorded event logs (JSON Lines, optionally gzip, or stdin)."""
