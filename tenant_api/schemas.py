"""OpenAPI schemas of the reply types written with msgspec (`reporter.protocol`).

FastAPI documents pydantic models itself; the report's reply structs are msgspec (a measured
hot path), so their schemas come from msgspec: a route names one with `content`, and
`components` adds the definitions to the document's `components.schemas`. msgspec documents a
union of structs only when they carry a tag field, which would change the reply, so a
report's `rows` (a union of four row shapes) is written here as `anyOf` their schemas.
"""

from __future__ import annotations

from typing import Any

import msgspec

from reporter import protocol

# Where the document keeps component schemas.
REF_TEMPLATE = "#/components/schemas/{name}"
# The row shapes a report's `rows` holds.
ROW_TYPES: tuple[Any, ...] = (protocol.AppRow, protocol.ServiceRow, protocol.SpaceRow,
                              protocol.OrgRow)  # fmt: skip


def content(kind: Any) -> dict[str, Any]:
    """A response's `content` naming `kind`'s component schema."""
    return {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(name=kind.__name__)}}}


def components() -> dict[str, Any]:
    """The component schemas of a report and everything it holds."""
    others = (protocol.Totals, protocol.ReportWarning, protocol.GroupBy)
    _, found = msgspec.json.schema_components((*ROW_TYPES, *others), ref_template=REF_TEMPLATE)
    schemas = dict(found)
    schemas["Report"] = _report_schema()
    return schemas


def _report_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in msgspec.structs.fields(protocol.Report):
        if field.name == "rows":
            rows = [{"$ref": REF_TEMPLATE.format(name=kind.__name__)} for kind in ROW_TYPES]
            schema: dict[str, Any] = {"type": "array", "items": {"anyOf": rows}}
        else:
            (schema,), _ = msgspec.json.schema_components((field.type,), ref_template=REF_TEMPLATE)
        properties[field.encode_name] = schema
        if field.required:
            required.append(field.encode_name)
    return {
        "title": "Report",
        "description": (protocol.Report.__doc__ or "").strip(),
        "type": "object",
        "properties": properties,
        "required": required,
    }
