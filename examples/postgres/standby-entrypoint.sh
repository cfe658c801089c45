#!/bin/bash
# The standby's entrypoint (runs as root, as the postgres image's own does). On the first start, while its data
# directory is empty, it copies the primary with pg_basebackup --write-recovery-conf (-R), which also writes
# standby.signal and primary_conninfo, so the server starts as a streaming hot standby of $PRIMARY_HOST. Then it hands
# over to the image's entrypoint, which finds PG_VERSION and starts that server as it is.
# https://www.postgresql.org/docs/15/app-pgbasebackup.html
set -euo pipefail
: "${PRIMARY_HOST:?the primary's host name}" "${REPLICATION_PASSWORD:?the replicator role's password}" "${PGDATA:?}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --host "$PRIMARY_HOST" --quiet; do sleep 1; done
  # The copy goes to a directory beside PGDATA and is renamed into place only once it is whole, so a copy cut off
  # half-way is made again on the next start instead of being started as a data directory.
  partial="$PGDATA.partial"
  rm -rf "$partial" "$PGDATA"
  install -d -o postgres -g postgres -m 700 "$partial"
  PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup --host "$PRIMARY_HOST" --username replicator \
    --pgdata "$partial" --write-recovery-conf --wal-method stream --checkpoint fast
  mv "$partial" "$PGDATA"
fi

exec docker-entrypoint.sh postgres
