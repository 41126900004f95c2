# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Per-column type map: decides from both catalogs how each column pair is compared (a ``normalize.Kind``).

Each side's native type is classified into a kind; the pair is compatible when the kinds are equal or one of the
pairings below, which are exactly the conversions the pipeline makes (docs/type-mapping.md). Anything else is an
incompatibility, reported by table and column with the reason, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .normalize import Kind

# Native type name (lower case, as the catalog queries of dialects.py return it) -> kind.
NATIVE_KINDS = {
    "postgresql": {
        "bool": "int", "int2": "int", "int4": "int", "int8": "int", "numeric": "decimal",
        "float4": "float", "float8": "float", "date": "date", "time": "time", "timestamp": "timestamp",
        "timestamptz": "timestamptz", "uuid": "uuid", "text": "text", "varchar": "text", "xml": "text",
        "bpchar": "char", "bytea": "bytes",
    },
    "sqlserver": {
        "bit": "int", "tinyint": "int", "smallint": "int", "int": "int", "bigint": "int", "decimal": "decimal",
        "numeric": "decimal", "money": "decimal", "smallmoney": "decimal", "float": "float", "real": "float",
        "date": "date", "time": "time", "datetime": "timestamp", "datetime2": "timestamp",
        "smalldatetime": "timestamp", "datetimeoffset": "timestamptz", "uniqueidentifier": "uuid",
        "varchar": "text", "nvarchar": "text", "xml": "text", "char": "char", "nchar": "char",
        "varbinary": "bytes", "binary": "bytes",
    },
}

# Pairings of different kinds the pipeline produces -> the kind they are compared as.
COMPATIBLE = {
    frozenset(("char", "text")): "char",      # char(n) -> text: padding kept on one side only, trimmed on both
    frozenset(("uuid", "text")): "uuid",      # uniqueidentifier -> upper-case text
    frozenset(("int", "decimal")): "decimal",  # numeric(p,0) vs integer
}


@dataclass(frozen=True)
class ColumnInfo:
    """A column as a catalog describes it. ``scale``: decimal scale, None when unconstrained."""

    name: str
    type: str
    scale: int | None = None


@dataclass(frozen=True)
class ColumnPair:
    name: str  # the source column name (reported)
    kind: Kind
    source: ColumnInfo
    target: ColumnInfo


class Incompatible(ValueError):
    """A column pair that cannot be compared; the message names the reason."""


def kind_of(dialect_name: str, column: ColumnInfo) -> str:
    try:
        return NATIVE_KINDS[dialect_name][column.type]
    except KeyError:
        raise Incompatible(f"unsupported {dialect_name} type {column.type}") from None


def pair(source_dialect: str, source: ColumnInfo, target_dialect: str, target: ColumnInfo,
         nfc: bool = False) -> ColumnPair:
    """The comparison kind of a source/target column pair; Incompatible with the reason otherwise."""
    sk, tk = kind_of(source_dialect, source), kind_of(target_dialect, target)
    name = sk if sk == tk else COMPATIBLE.get(frozenset((sk, tk)))
    if name is None:
        raise Incompatible(f"{source_dialect} {source.type} ({sk}) is not comparable with "
                           f"{target_dialect} {target.type} ({tk})")
    scale = None
    if name == "decimal":
        # 1.5 in numeric(10,1) equals 1.50 in numeric(10,2): compare at the larger scale; an integer has scale 0.
        scales = [0 if k == "int" else c.scale for k, c in ((sk, source), (tk, target))]
        # One side unconstrained (PostgreSQL numeric): its values may carry more digits than the other's scale;
        # trimming trailing zeros on both sides keeps 1.5 == 1.50 and never rounds a real difference away.
        scale = None if None in scales else max(scales)
    return ColumnPair(source.name, Kind(name, scale, nfc and name in ("text", "char")), source, target)
