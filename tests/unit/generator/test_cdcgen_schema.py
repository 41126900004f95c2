"""The sample tables: sql/sqlserver/sample_schema.sql agrees with tests/support/cdcgen/schema.py."""
import copy
import datetime as dt
import pickle
import re

import pytest
from cdcgen_testlib import ROOT

from tests.support.cdcgen import Column, PreciseDateTime, PreciseTime, Table
from tests.support.cdcgen.schema import SUPPORTED_TYPES, TABLES

SQL = (ROOT / "sql" / "sqlserver" / "sample_schema.sql").read_text(encoding="utf-8")


def test_sample_tables():
    assert list(TABLES) == ["customers", "orders", "line_items", "inventory_levels", "all_types"]
    assert TABLES["inventory_levels"].primary_key == ("warehouse_id", "sku")
    sql = {name: [c.sql for c in t.columns] for name, t in TABLES.items()}
    assert sql["customers"] == ["int", "nvarchar(255)", "nvarchar(200)", "datetime2(7)", "bit"]
    assert sql["orders"] == ["int", "int", "varchar(20)", "decimal(12,2)", "datetimeoffset(7)"]
    assert sql["line_items"] == ["bigint", "int", "varchar(40)", "int", "money"]
    assert sql["inventory_levels"] == ["int", "varchar(40)", "int", "datetime2(3)"]


def test_all_types_has_one_nullable_column_per_type():
    table = TABLES["all_types"]
    others = [c for c in table.columns if c.name != "id"]
    assert sorted(c.type for c in others) == sorted(SUPPORTED_TYPES)
    assert all(c.nullable for c in others) and not table.column("id").nullable
    assert [c.sql for c in others] == [
        "bit", "tinyint", "smallint", "int", "bigint", "decimal(18,4)", "numeric(10,0)", "money", "smallmoney",
        "float", "real", "date", "time(7)", "datetime", "datetime2(7)", "datetimeoffset(7)", "char(10)",
        "varchar(100)", "nchar(10)", "nvarchar(100)", "varbinary(64)", "uniqueidentifier", "xml"]


@pytest.mark.parametrize("name", list(TABLES))
def test_sql_file_creates_each_table_as_described(name):
    assert TABLES[name].ddl() in SQL
    assert f"IF OBJECT_ID(N'dbo.{name}', N'U') IS NULL\n" + TABLES[name].ddl() in SQL


@pytest.mark.parametrize("name", list(TABLES))
def test_sql_file_enables_cdc_on_each_table_without_net_changes(name):
    pattern = (r"EXEC sys\.sp_cdc_enable_table\s+@source_schema = N'dbo',\s+@source_name = N'%s',\s+"
               r"@role_name = NULL,\s+@supports_net_changes = 0;" % name)
    assert re.search(pattern, SQL)


def test_sql_file_enables_cdc_on_the_database_first():
    assert SQL.index("EXEC sys.sp_cdc_enable_db") < SQL.index("CREATE TABLE")
    code = "\n".join(line for line in SQL.splitlines() if not line.startswith("--"))
    assert code.count("CREATE TABLE") == len(TABLES)
    assert "DEFAULT" not in code.upper() and "IDENTITY" not in code.upper() and "FOREIGN" not in code.upper()
    assert "USE sluice_demo;" in SQL


def test_jdbc_metadata_as_mssql_jdbc_reports_it():
    t = TABLES["all_types"]
    assert t.column("c_money").jdbc_metadata == (3, 19, 4)          # DECIMAL
    assert t.column("c_smallmoney").jdbc_metadata == (3, 10, 4)
    assert t.column("c_float").jdbc_metadata[0] == 8                # DOUBLE
    assert t.column("c_datetimeoffset").jdbc_metadata == (-155, 34, 7)
    assert t.column("c_datetime2").jdbc_metadata == (93, 27, 7)
    assert t.column("c_time").jdbc_metadata == (92, 16, 7)
    assert t.column("c_uniqueidentifier").jdbc_metadata == (1, 36, None)   # CHAR
    assert t.column("c_xml").jdbc_metadata[0] == -16                        # LONGNVARCHAR
    assert t.column("c_nchar").jdbc_metadata == (-15, 10, None)


def test_invalid_definitions():
    with pytest.raises(ValueError):
        Column("x", "geography")
    with pytest.raises(ValueError):
        Column("x", "varchar")
    with pytest.raises(ValueError):
        Table("t", (Column("id", "int"),), ("id",))          # nullable key
    with pytest.raises(ValueError):
        Table("t", (Column("id", "int", nullable=False),), ("nope",))


def test_precise_values_keep_their_nanoseconds():
    a = PreciseDateTime(2024, 1, 2, 3, 4, 5, 6, nanosecond=700)
    assert a != dt.datetime(2024, 1, 2, 3, 4, 5, 6) and dt.datetime(2024, 1, 2, 3, 4, 5, 6) != a
    assert a == PreciseDateTime(2024, 1, 2, 3, 4, 5, 6, nanosecond=700)
    assert PreciseDateTime(2024, 1, 2, nanosecond=0) == dt.datetime(2024, 1, 2)
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a and hash(copy.copy(a)) == hash(a)
    assert "nanosecond=700" in repr(a)
    t = PreciseTime(1, 2, 3, 4, nanosecond=500)
    assert t != dt.time(1, 2, 3, 4) and pickle.loads(pickle.dumps(t)) == t
    with pytest.raises(ValueError):
        PreciseTime(nanosecond=1000)
