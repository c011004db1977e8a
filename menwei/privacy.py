"""Masking of personal data (ID-card numbers, phones) for pages and API answers."""


def mask_id_number(value):
    """Show the region and the last four characters of an ID number: ``3605**********1234``."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value):
    """Show the first three and last four digits of a phone: ``138****5678``."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_for(field_name):
    """The mask of a personal-data field, by its name: ``*id_number`` fields as IDs, others as phones."""
    return mask_id_number if field_name.endswith("id_number") else mask_phone


def mask_row(table, row):
    """Return a copy of ``row`` with every personal-data field of ``table`` masked."""
    out = dict(row)
    for f in table.fields:
        if f.pii and out.get(f.name):
            out[f.name] = mask_for(f.name)(out[f.name])
    return out
