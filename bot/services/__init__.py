"""What users buy: one module per service, listed in menu order by ``registry.py``."""
