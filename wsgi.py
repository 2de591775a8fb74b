"""WSGI entry point: `gunicorn wsgi:app` serves the portal, the back office and the console."""
from app import create_app

app = create_app()
