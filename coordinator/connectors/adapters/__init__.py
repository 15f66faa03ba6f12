"""Calendar adapters: one class per protocol behind :class:`~.base.CalendarAdapter`."""

from .base import CalendarAdapter, PullResult, RemoteObject, RemoteRef

__all__ = ["CalendarAdapter", "PullResult", "RemoteObject", "RemoteRef"]
