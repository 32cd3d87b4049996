FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e .
COPY . .
RUN DJANGO_SETTINGS_MODULE=refurb_portal.settings.dev python manage.py compilemessages -v0 --ignore=.venv \
 && DJANGO_SETTINGS_MODULE=refurb_portal.settings.dev python manage.py collectstatic --no-input -v0
EXPOSE 8000
CMD ["gunicorn", "refurb_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
