namespace NovaCompute.Db;

/// <summary>
/// nova's <c>services</c> and <c>compute_nodes</c> tables as its initial migration
/// (<c>8f2f1571d55b</c>) creates them through SQLAlchemy on each dialect: same columns, order,
/// types, nullability, constraint and index names. Timestamps are naive UTC, as nova keeps them;
/// on SQLite they are text in SQLAlchemy's <c>YYYY-MM-DD HH:MM:SS.ffffff</c> form.
/// </summary>
internal static class Schema
{
    /// <summary>
    /// The database's current UTC time in nova's SQLite text form. <c>'now'</c> is fixed for the
    /// duration of one statement, so every column a statement stamps gets the same value.
    /// </summary>
    public const string SqliteNow = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')";

    /// <summary>The database server's current UTC time as a naive timestamp.</summary>
    public const string PostgreSqlNow = "(now() AT TIME ZONE 'utc')";

    public const string InitialSqlite = """
        CREATE TABLE IF NOT EXISTS services (
            created_at DATETIME,
            updated_at DATETIME,
            deleted_at DATETIME,
            id INTEGER NOT NULL,
            host VARCHAR(255),
            "binary" VARCHAR(255),
            topic VARCHAR(255),
            report_count INTEGER NOT NULL,
            disabled BOOLEAN,
            deleted INTEGER,
            disabled_reason VARCHAR(255),
            last_seen_up DATETIME,
            forced_down BOOLEAN,
            version INTEGER,
            uuid VARCHAR(36),
            PRIMARY KEY (id),
            CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted),
            CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, "binary", deleted)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS services_uuid_idx ON services (uuid);
        CREATE TABLE IF NOT EXISTS compute_nodes (
            created_at DATETIME,
            updated_at DATETIME,
            deleted_at DATETIME,
            id INTEGER NOT NULL,
            service_id INTEGER,
            vcpus INTEGER NOT NULL,
            memory_mb INTEGER NOT NULL,
            local_gb INTEGER NOT NULL,
            vcpus_used INTEGER NOT NULL,
            memory_mb_used INTEGER NOT NULL,
            local_gb_used INTEGER NOT NULL,
            hypervisor_type TEXT NOT NULL,
            hypervisor_version INTEGER NOT NULL,
            cpu_info TEXT NOT NULL,
            disk_available_least INTEGER,
            free_ram_mb INTEGER,
            free_disk_gb INTEGER,
            current_workload INTEGER,
            running_vms INTEGER,
            hypervisor_hostname VARCHAR(255),
            deleted INTEGER,
            host_ip VARCHAR(39),
            supported_instances TEXT,
            pci_stats TEXT,
            metrics TEXT,
            extra_resources TEXT,
            stats TEXT,
            numa_topology TEXT,
            host VARCHAR(255),
            ram_allocation_ratio FLOAT,
            cpu_allocation_ratio FLOAT,
            uuid VARCHAR(36),
            disk_allocation_ratio FLOAT,
            mapped INTEGER,
            PRIMARY KEY (id),
            CONSTRAINT uniq_compute_nodes0host0hypervisor_hostname0deleted UNIQUE (host, hypervisor_hostname, deleted)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS compute_nodes_uuid_idx ON compute_nodes (uuid);
        """;

    public const string InitialPostgreSql = """
        CREATE TABLE IF NOT EXISTS services (
            created_at TIMESTAMP WITHOUT TIME ZONE,
            updated_at TIMESTAMP WITHOUT TIME ZONE,
            deleted_at TIMESTAMP WITHOUT TIME ZONE,
            id SERIAL NOT NULL,
            host VARCHAR(255),
            "binary" VARCHAR(255),
            topic VARCHAR(255),
            report_count INTEGER NOT NULL,
            disabled BOOLEAN,
            deleted INTEGER,
            disabled_reason VARCHAR(255),
            last_seen_up TIMESTAMP WITHOUT TIME ZONE,
            forced_down BOOLEAN,
            version INTEGER,
            uuid VARCHAR(36),
            PRIMARY KEY (id),
            CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted),
            CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, "binary", deleted)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS services_uuid_idx ON services (uuid);
        CREATE TABLE IF NOT EXISTS compute_nodes (
            created_at TIMESTAMP WITHOUT TIME ZONE,
            updated_at TIMESTAMP WITHOUT TIME ZONE,
            deleted_at TIMESTAMP WITHOUT TIME ZONE,
            id SERIAL NOT NULL,
            service_id INTEGER,
            vcpus INTEGER NOT NULL,
            memory_mb INTEGER NOT NULL,
            local_gb INTEGER NOT NULL,
            vcpus_used INTEGER NOT NULL,
            memory_mb_used INTEGER NOT NULL,
            local_gb_used INTEGER NOT NULL,
            hypervisor_type TEXT NOT NULL,
            hypervisor_version INTEGER NOT NULL,
            cpu_info TEXT NOT NULL,
            disk_available_least INTEGER,
            free_ram_mb INTEGER,
            free_disk_gb INTEGER,
            current_workload INTEGER,
            running_vms INTEGER,
            hypervisor_hostname VARCHAR(255),
            deleted INTEGER,
            host_ip INET,
            supported_instances TEXT,
            pci_stats TEXT,
            metrics TEXT,
            extra_resources TEXT,
            stats TEXT,
            numa_topology TEXT,
            host VARCHAR(255),
            ram_allocation_ratio FLOAT,
            cpu_allocation_ratio FLOAT,
            uuid VARCHAR(36),
            disk_allocation_ratio FLOAT,
            mapped INTEGER,
            PRIMARY KEY (id),
            CONSTRAINT uniq_compute_nodes0host0hypervisor_hostname0deleted UNIQUE (host, hypervisor_hostname, deleted)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS compute_nodes_uuid_idx ON compute_nodes (uuid);
        """;
}
