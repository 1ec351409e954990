"""The TOML policy: hold limits per form, calendar, lateness, rule criteria, jurisdictions."""
