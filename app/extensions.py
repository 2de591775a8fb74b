"""Flask extensions, created once and bound to the app by the factory."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.ratelimit import client_ip

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()
limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=True)
