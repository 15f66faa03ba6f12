"""Helpers the tests share: private Redis servers (``servers``) and the backends they make."""
