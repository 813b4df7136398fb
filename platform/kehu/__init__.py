"""Kehu (客户): a low-code CRM platform whose entities, fields, layouts and rules are metadata.

Importing this package does no work: ``create_app`` builds everything.
"""

__version__ = "0.1.0"


def create_app(settings=None):
    """Build a Flask app for one site; see :func:`kehu.app.create_app`."""
    from kehu.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["create_app", "__version__"]
