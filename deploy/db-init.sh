#!/bin/sh
# First start of the compose database (docker-entrypoint-initdb.d): the two roles
# of README.md "Database roles". The owner owns the database (and so, on
# PostgreSQL 15+, its public schema) and runs migrations; the application's
# login owns nothing and gets its grants from `manage.py migrate`.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$CLINIC_OWNER_PASSWORD" -v app_password="$CLINIC_APP_PASSWORD" <<'SQL'
CREATE ROLE clinic_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE clinic_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE clinic OWNER TO clinic_owner;
REVOKE ALL ON DATABASE clinic FROM PUBLIC;
SQL
