"""Small widgets the pages share: status, hints, copy buttons, yes/no/not-sure choices."""
