FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false
WORKDIR /app
COPY pyproject.toml README.md ./
COPY servicedesk servicedesk
COPY orders orders
COPY delivery delivery
COPY complaints complaints
COPY kpi kpi
RUN pip install --no-cache-dir .
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --create-home servicedesk && mkdir -p /app/var/media && chown -R servicedesk /app/var
USER servicedesk
EXPOSE 8000
CMD ["gunicorn", "servicedesk.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
