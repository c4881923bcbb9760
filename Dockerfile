# The clinic backend under gunicorn (docker-compose.yml runs it with PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# psycopg[binary] ships its own libpq, so no system packages are needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files (admin, Swagger UI) are collected at build time; settings
# refuse to load without SECRET_KEY, so a throwaway one is given for this step only.
# DATABASE_URL too: collectstatic connects to nothing, but settings require PostgreSQL.
RUN SECRET_KEY=collectstatic-build-only DATABASE_URL=postgres://build@localhost/unused DEBUG=false python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin clinic
USER clinic

EXPOSE 8000
# Threaded workers: less memory than one process per request in flight, same throughput (bench/README.md).
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
