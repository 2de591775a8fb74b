"""Request and answer schemas of the API (pydantic), one module per area; they generate the OpenAPI description."""
