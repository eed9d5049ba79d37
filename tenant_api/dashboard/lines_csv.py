"""An org's bill lines as CSV, for a spreadsheet: the columns and amounts of `/v1/bills`.

Amounts are the bill's unrounded decimal strings. A text cell that a spreadsheet would read
as a formula (a resource named `=HYPERLINK(...)`: names come from tenants) is written with a
leading apostrophe, as OWASP advises; amounts are never touched.
"""

from __future__ import annotations

import csv
import io

from reporter import bill_assembly
from shared import pricing

# The columns, in order: the line's own fields as `/v1/bills` names them.
COLUMNS = (
    "org_guid",
    "space_guid",
    "space_name",
    "resource_type",
    "resource_guid",
    "resource_name",
    "foundation",
    "service_plan_guid",
    "plan_name",
    "component",
    "vat_code",
    "ex_vat",
    "vat",
)
# Amount columns: decimal strings, written as they are.
AMOUNTS = ("ex_vat", "vat")
# First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render(body: bill_assembly.BillBody) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for org in body["orgs"]:
        for line in org["lines"]:
            cells = {"org_guid": org["org_guid"], **line}
            writer.writerow(_cell(name, cells.get(name)) for name in COLUMNS)
    return out.getvalue()


def _cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if name in AMOUNTS:
        return pricing.decimal_text(value)  # type: ignore[arg-type]
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
