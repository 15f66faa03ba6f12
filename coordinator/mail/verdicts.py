"""SPF, DKIM and DMARC verdicts for an inbound message.

Two ways to get them, chosen by the operator (the documented switch):

* :func:`check_dns` evaluates the message itself, looking records up in DNS
  through a :class:`Resolver`. DKIM uses **dkimpy** (every signature is tried; a
  message passes when one verifies). SPF uses **pyspf**, the reference
  implementation of RFC 7208 that the SPF project's test suite was written
  against. DMARC (RFC 7489: policy discovery, then relaxed or strict alignment
  of the From domain with the SPF and DKIM domains) is evaluated here in a few
  dozen lines on **publicsuffixlist** (maintained, ships a current Public
  Suffix List) for the organisational domain.
  Evaluated and not chosen: **authheaders** computes the organisational
  domain from a 2019 suffix list through publicsuffix2, which returns the bare
  TLD for a TLD missing from its list, so ``ceo@agents.test`` and a signature
  by ``attacker.test`` "align" (our forged-From test caught it); its SPF path
  also ignores the injected DNS function. **checkdmarc** audits a domain's
  published records (pulling an HTTP and XML stack) and does not evaluate a
  message.
* :func:`from_authentication_results` trusts the ``Authentication-Results``
  header an MTA in front of the coordinator added, parsed with **authres**. Only
  headers whose authserv-id equals the configured one count, and the topmost
  such header (the one the nearest MTA prepended) wins. The MTA must strip
  incoming headers that claim its authserv-id (RFC 8601 section 5), or a sender
  could forge verdicts.

DNS goes where a :class:`Resolver` says (host, port, timeout), for dkimpy
(through its ``dnsfunc``), the DMARC lookups (directly) and pyspf (whose
module-level ``DNSLookup`` is replaced once by a router that sends a lookup to
the resolver of the current :func:`check_dns` call, held in a context
variable, and to pyspf's own lookup otherwise). Needs the ``mail`` extra.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses
from typing import Any, Literal, cast

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from ..errors import ValidationError

Result = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]
RESULTS: frozenset[str] = frozenset(
    {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"}
)
#: Values other methods and MTAs use, mapped onto :data:`RESULTS`.
_ALIASES = {"hardfail": "fail", "error": "temperror", "unknown": "permerror", "policy": "neutral"}
_MAX_DETAIL = 120


class DnsTemporaryError(Exception):
    """The resolver did not answer in time (or at all): a ``temperror`` verdict."""


@dataclass(frozen=True)
class Resolver:
    """Where DNS lookups go. ``host=None`` means the system's resolver configuration.

    Tests point it at a loopback DNS server; an operator can point it at a
    validating resolver of their choice.
    """

    host: str | None = None
    port: int = 53
    timeout: float = 5.0

    @classmethod
    def system(cls, timeout: float = 5.0) -> Resolver:
        return cls(host=None, timeout=timeout)

    def _dnspython(self) -> dns.resolver.Resolver:
        if self.host is None:
            res = dns.resolver.Resolver(configure=True)
        else:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = [self.host]
            res.port = self.port
        res.lifetime = self.timeout
        res.timeout = self.timeout
        return res

    def query(self, name: str, rdtype: str) -> list[Any]:
        """The records at ``name`` ([] for NXDOMAIN or no data); DnsTemporaryError on failure."""
        try:
            answer = self._dnspython().resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsTemporaryError(f"{rdtype} {name}: {type(exc).__name__}") from exc
        except dns.exception.DNSException as exc:  # bad names and the like: no data
            if isinstance(exc, dns.name.NameTooLong | dns.name.EmptyLabel | dns.name.LabelTooLong):
                return []
            raise DnsTemporaryError(f"{rdtype} {name}: {type(exc).__name__}") from exc
        return list(answer)

    def txt(self, name: str) -> list[bytes]:
        """Each TXT record at ``name``, its character-strings joined."""
        return [b"".join(r.strings) for r in self.query(name, "TXT")]


@dataclass(frozen=True)
class Verdict:
    """One method's outcome: ``result`` (see :data:`RESULTS`), a short ``detail``,
    the ``domain`` it speaks for (SPF: the MAIL FROM domain, DKIM: the passing
    ``d=``, DMARC: the From domain) and, for DMARC, the published ``policy``."""

    result: Result
    detail: str = ""
    domain: str | None = None
    policy: str | None = None

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValidationError("result", f"{self.result!r} is not one of {sorted(RESULTS)}")


def _verdict(result: str, detail: str = "", domain: str | None = None, **kw: Any) -> Verdict:
    result = (result or "none").strip().lower()
    result = _ALIASES.get(result, result)
    if result not in RESULTS:
        result = "permerror"
    detail = re.sub(r"\s+", " ", detail).strip()[:_MAX_DETAIL]
    return Verdict(cast(Result, result), detail, domain.lower() if domain else None, **kw)


NONE = Verdict("none")


@dataclass(frozen=True)
class Verdicts:
    """The three verdicts for one message."""

    spf: Verdict = field(default=NONE)
    dkim: Verdict = field(default=NONE)
    dmarc: Verdict = field(default=NONE)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready form (what the mailbox stores and the HTTP API returns)."""
        return {
            k: asdict(v) for k, v in (("spf", self.spf), ("dkim", self.dkim), ("dmarc", self.dmarc))
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdicts:
        def one(key: str) -> Verdict:
            v = data.get(key) or {}
            return _verdict(str(v.get("result", "none")), str(v.get("detail", "")),
                            v.get("domain"), policy=v.get("policy"))  # fmt: skip

        return cls(spf=one("spf"), dkim=one("dkim"), dmarc=one("dmarc"))


# -- DNS evaluation ---------------------------------------------------------------------


def check_dns(
    raw: bytes, *, client_ip: str, helo: str, mail_from: str, resolver: Resolver
) -> Verdicts:
    """Evaluate SPF (for ``client_ip``/``helo``/``mail_from``), DKIM and DMARC in DNS.

    ``mail_from`` is the SMTP envelope sender ("" for a bounce: SPF then checks
    ``postmaster@<helo>``). Never raises on a malformed message: a problem
    becomes ``permerror``/``fail``, an unreachable resolver ``temperror``.
    """
    spf_verdict = check_spf(client_ip=client_ip, helo=helo, mail_from=mail_from, resolver=resolver)
    dkim_verdict, dkim_domains = check_dkim(raw, resolver=resolver)
    dmarc_verdict = check_dmarc(raw, spf=spf_verdict, dkim_domains=dkim_domains, resolver=resolver)
    return Verdicts(spf=spf_verdict, dkim=dkim_verdict, dmarc=dmarc_verdict)


# SPF ----------------------------------------------------------------------------------

_current_resolver: contextvars.ContextVar[Resolver | None] = contextvars.ContextVar(
    "agentdraft_spf_resolver", default=None
)
_spf_router_installed = False


def _install_spf_router() -> None:
    """Route pyspf's lookups through the current :class:`Resolver` (once per process)."""
    global _spf_router_installed
    if _spf_router_installed:
        return
    import spf

    original = spf.DNSLookup

    def routed(name: str, qtype: str, strict: Any = True, timeout: Any = 30) -> list[Any]:
        resolver = _current_resolver.get()
        if resolver is None:
            return cast(list[Any], original(name, qtype, strict, timeout))
        return _spf_lookup(resolver, name, qtype)

    spf.DNSLookup = routed
    _spf_router_installed = True


def _spf_lookup(resolver: Resolver, name: str, qtype: str) -> list[Any]:
    """Records in the shape pyspf's own dnspython driver returns them."""
    import spf

    try:
        records = resolver.query(name, qtype)
    except DnsTemporaryError as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    out: list[Any] = []
    for r in records:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), r.address))
        elif qtype == "MX":
            out.append(((name, qtype), (r.preference, r.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), r.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), r.strings))
    return out


def check_spf(*, client_ip: str, helo: str, mail_from: str, resolver: Resolver) -> Verdict:
    """SPF (RFC 7208) for the SMTP client, via pyspf."""
    import spf

    _install_spf_router()
    sender = mail_from.strip() or f"postmaster@{helo}"
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else sender
    token = _current_resolver.set(resolver)
    try:
        q = spf.query(i=client_ip, s=sender, h=helo, timeout=resolver.timeout * 4, querytime=0)
        result, _code, explanation = q.check()
    except Exception as exc:  # pyspf raises on invalid client addresses and the like
        return _verdict("permerror", type(exc).__name__, domain)
    finally:
        _current_resolver.reset(token)
    detail = str(explanation) if result in ("temperror", "permerror") else f"client-ip={client_ip}"
    return _verdict(str(result), detail, domain)


# DKIM ---------------------------------------------------------------------------------


class _DkimTxt:
    """dkimpy's ``dnsfunc``: TXT lookups through the resolver, remembering timeouts
    (dkimpy turns a lookup timeout into a plain False; we want ``temperror``)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.timed_out: str | None = None

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        import dkim

        qname = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            records = self.resolver.txt(qname.rstrip("."))
        except DnsTemporaryError as exc:
            self.timed_out = str(exc)
            raise dkim.DnsTimeoutError(str(exc)) from exc
        return records[0] if records else None


def check_dkim(raw: bytes, *, resolver: Resolver) -> tuple[Verdict, tuple[str, ...]]:
    """DKIM (RFC 6376) via dkimpy: every signature tried, with the domains that passed.

    ``pass`` when at least one signature verifies (its ``d=`` is the verdict's
    domain); ``temperror`` when a key could not be fetched; ``fail`` when
    signatures exist and none verifies; ``none`` when the message is unsigned.
    """
    import dkim

    try:
        d = dkim.DKIM(raw, minkey=1024, timeout=int(max(1, resolver.timeout)))
        count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    except Exception as exc:
        return _verdict("permerror", type(exc).__name__), ()
    if count == 0:
        return _verdict("none", "no signature"), ()
    dnsfunc = _DkimTxt(resolver)
    passed: list[str] = []
    failures: list[tuple[str, str]] = []
    for idx in range(count):
        dnsfunc.timed_out = None
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            domain = d.domain.decode("ascii", "replace").lower() if d.domain else ""
        except dkim.DnsTimeoutError as exc:
            failures.append(("temperror", str(exc)))
            continue
        except Exception as exc:  # DKIMException and parse errors in a hostile signature
            failures.append(("fail", str(exc).split(" (", 1)[0] or type(exc).__name__))
            continue
        if ok:
            passed.append(domain)
        elif dnsfunc.timed_out:
            failures.append(("temperror", dnsfunc.timed_out))
        else:
            failures.append(("fail", f"signature by {domain or 'unknown domain'} did not verify"))
    if passed:
        return _verdict("pass", f"d={passed[0]}", passed[0]), tuple(dict.fromkeys(passed))
    if any(kind == "temperror" for kind, _ in failures):
        return _verdict("temperror", next(d for k, d in failures if k == "temperror")), ()
    return _verdict("fail", failures[0][1] if failures else "no valid signature"), ()


# DMARC --------------------------------------------------------------------------------


def _from_domains(msg: Message) -> list[str]:
    values = []
    try:
        values = [str(v) for v in msg.get_all("From") or []]
    except Exception:
        return []
    domains = []
    for _, addr in getaddresses(values):
        if "@" in addr:
            domains.append(addr.rsplit("@", 1)[1].strip().rstrip(".>").lower())
    return list(dict.fromkeys(d for d in domains if d))


def organisational_domain(domain: str) -> str:
    """The registrable domain (RFC 7489 section 3.2) by the Public Suffix List.

    A TLD missing from the list counts as a public suffix (the list's ``*``
    rule), so ``mail.agents.test`` belongs to ``agents.test``, never to ``test``.
    """
    domain = domain.strip().rstrip(".").lower()
    return _psl().privatesuffix(domain) or domain


@functools.cache
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _dmarc_record(domain: str, resolver: Resolver) -> dict[str, str] | None:
    """The one DMARC record at ``_dmarc.<domain>`` as tags, or None (none, or several)."""
    records = [r.decode("utf-8", "replace").strip() for r in resolver.txt(f"_dmarc.{domain}")]
    found = []
    for text in records:
        tags: dict[str, str] = {}
        for item in text.split(";"):
            key, sep, value = item.partition("=")
            if sep:
                tags.setdefault(key.strip().lower(), value.strip())
        if text.split(";", 1)[0].replace(" ", "") == "v=DMARC1":
            found.append(tags)
    if len(found) != 1:  # several records count as none (RFC 7489 section 6.6.3)
        return None
    tags = found[0]
    if tags.get("p", "").lower() not in _POLICIES:
        if "rua" not in tags:
            return None  # an invalid record is discarded ...
        tags["p"] = "none"  # ... unless it asks for reports: then p=none
    return tags


_POLICIES = ("none", "quarantine", "reject")


def _aligned(domain: str | None, from_domain: str, mode: str) -> bool:
    if not domain:
        return False
    domain = domain.lower().rstrip(".")
    if mode == "s":
        return domain == from_domain
    return organisational_domain(domain) == organisational_domain(from_domain)


def check_dmarc(
    raw: bytes, *, spf: Verdict, dkim_domains: tuple[str, ...], resolver: Resolver
) -> Verdict:
    """DMARC (RFC 7489) for the RFC5322.From domain, from SPF and DKIM outcomes.

    Policy discovery asks ``_dmarc.<from-domain>``, then ``_dmarc.<organisational
    domain>`` (whose ``sp=`` then applies). ``pass`` when an SPF pass or a DKIM
    pass is aligned with the From domain (relaxed: same organisational domain;
    strict: the same name, per ``aspf``/``adkim``); ``fail`` otherwise, with
    ``policy`` saying what the domain asks (none, quarantine, reject); ``none``
    when no record is published; ``permerror`` for a message without exactly one
    From domain; ``temperror`` when DNS did not answer.
    """
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception:
        return _verdict("permerror", "unparsable message")
    domains = _from_domains(msg)
    if len(domains) != 1:
        return _verdict("permerror", "no From domain" if not domains else "several From domains")
    from_domain = domains[0]
    org = organisational_domain(from_domain)
    try:
        record = _dmarc_record(from_domain, resolver)
        policy_ = record.get("p", "none").lower() if record else None
        if record is None and org != from_domain:
            record = _dmarc_record(org, resolver)
            if record is not None:
                policy_ = (record.get("sp") or record.get("p") or "none").lower()
    except DnsTemporaryError as exc:
        return _verdict("temperror", str(exc), from_domain)
    if record is None:
        return _verdict("none", "no DMARC record", from_domain)
    if policy_ not in _POLICIES:
        policy_ = "none"
    aspf = record.get("aspf", "r").lower()
    adkim = record.get("adkim", "r").lower()
    if any(_aligned(d, from_domain, adkim) for d in dkim_domains):
        return _verdict("pass", "aligned dkim", from_domain, policy=policy_)
    if spf.result == "pass" and _aligned(spf.domain, from_domain, aspf):
        return _verdict("pass", "aligned spf", from_domain, policy=policy_)
    return _verdict("fail", "no aligned spf or dkim pass", from_domain, policy=policy_)


# Authentication-Results ---------------------------------------------------------------


def _header_values(raw: bytes, name: str) -> Iterator[str]:
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
        values = msg.get_all(name) or []
    except Exception:
        return
    for v in values:
        yield re.sub(r"\r?\n[ \t]+", " ", str(v)).strip()


def _property(result: Any, ptype: str, name: str) -> str | None:
    for prop in getattr(result, "properties", []) or []:
        if prop.type == ptype and prop.name == name:
            return str(prop.value) if prop.value is not None else None
    return None


def from_authentication_results(raw: bytes, *, authserv_id: str) -> Verdicts:
    """Verdicts from the topmost ``Authentication-Results`` header whose authserv-id
    is ``authserv_id`` (case-insensitive); headers from any other id are ignored.

    Without such a header every verdict is ``none``. A header that authres
    cannot parse is skipped (a later trusted one, if any, is used).
    """
    import authres
    from authres.core import AuthResError

    wanted = authserv_id.strip().lower()
    if not wanted:
        raise ValidationError("authserv_id", "must not be empty")
    for value in _header_values(raw, "Authentication-Results"):
        try:
            header = authres.all_features().parse_value(value)
        except (AuthResError, ValueError, IndexError, AttributeError):
            continue
        if (header.authserv_id or "").lower() != wanted:
            continue
        return _verdicts_from_results(list(header.results or []), wanted)
    return Verdicts(
        spf=_verdict("none", f"no Authentication-Results from {wanted}"),
        dkim=_verdict("none", f"no Authentication-Results from {wanted}"),
        dmarc=_verdict("none", f"no Authentication-Results from {wanted}"),
    )


def _verdicts_from_results(results: list[Any], authserv_id: str) -> Verdicts:
    by_method: dict[str, list[Any]] = {}
    for r in results:
        method = str(getattr(r, "method", "") or "").lower()
        by_method.setdefault(method, []).append(r)
    detail = f"from {authserv_id}"

    spf_r = by_method.get("spf", [])
    spf = NONE
    if spf_r:
        r = spf_r[0]
        mailfrom = _property(r, "smtp", "mailfrom") or _property(r, "smtp", "helo") or ""
        spf = _verdict(str(r.result), detail, mailfrom.rsplit("@", 1)[-1] or None)

    dkim = NONE
    dkim_r = by_method.get("dkim", [])
    if dkim_r:
        passing = [r for r in dkim_r if str(r.result).lower() == "pass"]
        r = passing[0] if passing else dkim_r[0]
        d = _property(r, "header", "d") or (_property(r, "header", "i") or "").rsplit("@", 1)[-1]
        dkim = _verdict(str(r.result), detail, d or None)

    dmarc = NONE
    dmarc_r = by_method.get("dmarc", [])
    if dmarc_r:
        r = dmarc_r[0]
        policy_ = _property(r, "policy", "dmarc")
        dmarc = _verdict(str(r.result), detail, _property(r, "header", "from"), policy=policy_)
    return Verdicts(spf=spf, dkim=dkim, dmarc=dmarc)
