"""Imports every portal module so its routes are on the blueprint before it is registered."""
from portal import views  # noqa: F401
from portal import access_views  # noqa: F401
from portal import bill_views  # noqa: F401
from portal import collection_views  # noqa: F401
from portal import consumption_views  # noqa: F401
from portal import direct_debit_views  # noqa: F401
from portal import legal_views  # noqa: F401
from portal import payment_views  # noqa: F401
from portal import profile_views  # noqa: F401
from portal import reading_views  # noqa: F401
from portal import request_views  # noqa: F401
from portal import unsubscribe_views  # noqa: F401
from portal.blueprint import bp  # noqa: F401
