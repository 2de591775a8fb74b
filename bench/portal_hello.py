"""A bare Flask "hello world": the yardstick the portal benchmark serves with the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!"
