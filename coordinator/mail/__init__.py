"""The agent mailbox: mail in and out over real SMTP, one mailbox per agent.

* :mod:`.mailbox`: the store side (send, receive, list, suppressions, caps), one Lua
  step per change (``lua/mail_*.lua``); ``coord.mailbox`` and ``client.mailbox``.
* :mod:`.addresses`: agent addresses (``<agent_id>@<domain>``, ``+bkg_…`` tags).
* :mod:`.receiver`: the SMTP receiver (aiosmtpd); :mod:`.dispatcher`: delivers the
  outbox through the smarthost (:mod:`.compose` builds each message); :mod:`.config`
  reads their settings; :mod:`.runner` runs both (``coordinator mail serve``).

Submodules hold one concern each: :mod:`.parse` (bytes -> an
:class:`~.parse.InboundMessage`), :mod:`.verdicts` (SPF, DKIM and DMARC),
:mod:`.bounces` (delivery-status and complaint reports), :mod:`.dkim_sign`
(signing outbound mail), :mod:`.disposition` (safe headers for serving an
attachment). They need the ``mail`` extra
(``pip install 'agentdraft-agents[mail]'``) where they use a third-party library;
the mailbox itself does not.
"""

from __future__ import annotations

from .mailbox import ClientMailbox, Mailbox

__all__ = ["ClientMailbox", "Mailbox"]
