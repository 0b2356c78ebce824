"""The OpenAPI document of the ops API (``ops``), its webhook paths and shared pieces."""
