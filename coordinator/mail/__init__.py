"""The agent mailbox: mail in and out over real SMTP, one mailbox per agent.

Submodules hold one concern each: :mod:`.parse` (bytes -> an
:class:`~.parse.InboundMessage`), :mod:`.verdicts` (SPF, DKIM and DMARC),
:mod:`.bounces` (delivery-status and complaint reports), :mod:`.dkim_sign`
(signing outbound mail). They need the ``mail`` extra
(``pip install 'agentdraft-agents[mail]'``) where they use a third-party library.
"""

from __future__ import annotations
