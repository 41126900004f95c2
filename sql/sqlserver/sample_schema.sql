-- Sample source schema of the sluice.cdc pipeline: database sluice_demo, schema dbo, five tables with CDC enabled.
--
-- The same tables are described in tests/support/cdcgen/schema.py, from which this file was written;
-- tests/unit/generator/test_cdcgen_schema.py checks that the two agree. cdcgen generates exactly the change events
-- the Debezium 3.6 SQL Server connector emits for these tables (docs/type-mapping.md).
--
-- Conventions, chosen so that the generated events match what SQL Server + Debezium would produce:
--   * no DEFAULT constraints (Debezium copies column defaults into the Kafka Connect schema);
--   * no IDENTITY columns (the workload supplies the keys) and no foreign keys (deletes never fail);
--   * the database keeps the server default collation SQL_Latin1_General_CP1_CI_AS: char/varchar hold
--     Windows-1252 text, nchar/nvarchar hold any Unicode text (emoji, combining marks);
--   * CDC as the Debezium SQL Server documentation describes it ("Setting up SQL Server",
--     https://debezium.io/documentation/reference/3.6/connectors/sqlserver.html#setting-up-sqlserver):
--     sys.sp_cdc_enable_db, then sys.sp_cdc_enable_table per table with @supports_net_changes = 0.
--     The SQL Server Agent must be running for the capture job to fill the change tables.
--
-- Idempotent: run it again and nothing changes. Run with sqlcmd -b -i sql/sqlserver/sample_schema.sql.

IF DB_ID(N'sluice_demo') IS NULL
    CREATE DATABASE sluice_demo;
GO

USE sluice_demo;
GO

IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = N'sluice_demo' AND is_cdc_enabled = 1)
    EXEC sys.sp_cdc_enable_db;
GO

IF OBJECT_ID(N'dbo.customers', N'U') IS NULL
CREATE TABLE dbo.customers (
    id int NOT NULL,
    email nvarchar(255) NOT NULL,
    full_name nvarchar(200) NULL,
    created_at datetime2(7) NULL,
    is_active bit NULL,
    CONSTRAINT PK_customers PRIMARY KEY (id)
);
GO

IF OBJECT_ID(N'dbo.orders', N'U') IS NULL
CREATE TABLE dbo.orders (
    id int NOT NULL,
    customer_id int NULL,
    status varchar(20) NULL,
    total decimal(12,2) NULL,
    ordered_at datetimeoffset(7) NULL,
    CONSTRAINT PK_orders PRIMARY KEY (id)
);
GO

IF OBJECT_ID(N'dbo.line_items', N'U') IS NULL
CREATE TABLE dbo.line_items (
    id bigint NOT NULL,
    order_id int NULL,
    sku varchar(40) NULL,
    quantity int NULL,
    unit_price money NULL,
    CONSTRAINT PK_line_items PRIMARY KEY (id)
);
GO

IF OBJECT_ID(N'dbo.inventory_levels', N'U') IS NULL
CREATE TABLE dbo.inventory_levels (
    warehouse_id int NOT NULL,
    sku varchar(40) NOT NULL,
    on_hand int NULL,
    updated_at datetime2(3) NULL,
    CONSTRAINT PK_inventory_levels PRIMARY KEY (warehouse_id, sku)
);
GO

IF OBJECT_ID(N'dbo.all_types', N'U') IS NULL
CREATE TABLE dbo.all_types (
    id int NOT NULL,
    c_bit bit NULL,
    c_tinyint tinyint NULL,
    c_smallint smallint NULL,
    c_int int NULL,
    c_bigint bigint NULL,
    c_decimal decimal(18,4) NULL,
    c_numeric numeric(10,0) NULL,
    c_money money NULL,
    c_smallmoney smallmoney NULL,
    c_float float NULL,
    c_real real NULL,
    c_date date NULL,
    c_time time(7) NULL,
    c_datetime datetime NULL,
    c_datetime2 datetime2(7) NULL,
    c_datetimeoffset datetimeoffset(7) NULL,
    c_char char(10) NULL,
    c_varchar varchar(100) NULL,
    c_nchar nchar(10) NULL,
    c_nvarchar nvarchar(100) NULL,
    c_varbinary varbinary(64) NULL,
    c_uniqueidentifier uniqueidentifier NULL,
    c_xml xml NULL,
    CONSTRAINT PK_all_types PRIMARY KEY (id)
);
GO

IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE object_id = OBJECT_ID(N'dbo.customers') AND is_tracked_by_cdc = 1)
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name = N'customers',
        @role_name = NULL,
        @supports_net_changes = 0;
GO

IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE object_id = OBJECT_ID(N'dbo.orders') AND is_tracked_by_cdc = 1)
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name = N'orders',
        @role_name = NULL,
        @supports_net_changes = 0;
GO

IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE object_id = OBJECT_ID(N'dbo.line_items') AND is_tracked_by_cdc = 1)
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name = N'line_items',
        @role_name = NULL,
        @supports_net_changes = 0;
GO

IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE object_id = OBJECT_ID(N'dbo.inventory_levels') AND is_tracked_by_cdc = 1)
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name = N'inventory_levels',
        @role_name = NULL,
        @supports_net_changes = 0;
GO

IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE object_id = OBJECT_ID(N'dbo.all_types') AND is_tracked_by_cdc = 1)
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name = N'all_types',
        @role_name = NULL,
        @supports_net_changes = 0;
GO
