# The primary's one-time set-up for its streaming standby. The postgres image's entrypoint sources every *.sh in
# /docker-entrypoint-initdb.d once, when it creates the data directory; nothing here runs on later starts.
# The rest a standby needs is PostgreSQL's default since version 10: wal_level = replica, max_wal_senders = 10,
# hot_standby = on (https://www.postgresql.org/docs/15/runtime-config-replication.html).

# The role the standby streams with: REPLICATION and LOGIN, nothing else.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set password="$REPLICATION_PASSWORD" <<'SQL'
create role replicator with replication login password :'password';
SQL

# A replication connection matches only lines whose database is `replication` ("all" does not match it), and the
# image's own line is `host all all all scram-sha-256`: https://www.postgresql.org/docs/15/auth-pg-hba-conf.html
printf 'host replication replicator all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
