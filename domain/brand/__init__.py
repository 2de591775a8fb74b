"""The utility's identity (legal details, contact, logo, colours) and its portal pages, as its administrators
set them."""
